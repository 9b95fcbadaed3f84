/** Zone fixtures shared by the zone and quote tests and the quote benchmark (Berlin, around the orders helpers' PICKUP). */
import type { ZoneGeometry, ZoneSettings } from '../../src/domain/zones.js';

/** A closed square ring around (lat, lng), half side `d` degrees. */
export function square(lat: number, lng: number, d: number): [number, number][] {
  return [
    [lng - d, lat - d],
    [lng + d, lat - d],
    [lng + d, lat + d],
    [lng - d, lat + d],
    [lng - d, lat - d],
  ];
}

export function polygonZone(lat: number, lng: number, d: number): ZoneGeometry {
  return { type: 'Polygon', coordinates: [square(lat, lng, d)] };
}

export function zoneSettingsFixture(over: Partial<ZoneSettings> = {}): ZoneSettings {
  return {
    name: 'Mitte',
    active: true,
    priority: 0,
    timezone: 'Europe/Berlin',
    hours: [],
    options: { express: { promiseMin: 30, maxMin: 90 }, standard: { promiseMin: 90 }, scheduled: { promiseMin: 30 } },
    fee: { currency: 'EUR', base: 2.5, perKm: 0.8, surgeStep: 0.5, surgeCap: 2 },
    safetyMarginMin: 5,
    fleet: 'own',
    carrier: null,
    ...over,
  };
}

/** A bow tie: its two edges cross at [13.4, 52.55]. */
export const BOWTIE: ZoneGeometry = {
  type: 'Polygon',
  coordinates: [
    [
      [13.3, 52.5],
      [13.5, 52.6],
      [13.5, 52.5],
      [13.3, 52.6],
      [13.3, 52.5],
    ],
  ],
};
