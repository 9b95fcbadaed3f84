/**
 * Puts an MDRP instance (planar metres, UTM with the zone dropped) on a real map: an equirectangular
 * projection around a chosen city centre. Near the centre one metre east or north on the plane is one
 * metre on the ground, so great-circle (haversine) distances between projected points match the planar
 * Euclidean distances the MDRP rules use to within a fraction of a percent over a city.
 */
import type { LatLng } from '../../domain/geo.js';
import type { PlanarPoint } from '../../dispatch/types.js';
import type { MdrpInstance } from '../mdrp/instance.js';

/** Same Earth radius as the service's haversine (turf's), so the two agree on what a metre is. */
const EARTH_RADIUS_M = 6_371_008.8;
const DEG = 180 / Math.PI;

/** Berlin Mitte: any city works; this one matches the examples in the README. */
export const DEFAULT_CITY_CENTRE: LatLng = { lat: 52.52, lng: 13.405 };

export interface Projection {
  /** The planar point mapped onto `centre`. */
  readonly origin: PlanarPoint;
  readonly centre: LatLng;
  toLatLng(p: PlanarPoint): LatLng;
  toPlanar(ll: LatLng): PlanarPoint;
}

export function projectionAround(origin: PlanarPoint, centre: LatLng): Projection {
  if (!(Math.abs(centre.lat) < 80)) throw new RangeError(`city centre latitude must be within ±80°, got ${centre.lat}`);
  const metresPerRadLng = EARTH_RADIUS_M * Math.cos(centre.lat / DEG);
  return {
    origin,
    centre,
    toLatLng: (p) => ({
      lat: centre.lat + ((p.y - origin.y) / EARTH_RADIUS_M) * DEG,
      lng: centre.lng + ((p.x - origin.x) / metresPerRadLng) * DEG,
    }),
    toPlanar: (ll) => ({
      x: origin.x + ((ll.lng - centre.lng) / DEG) * metresPerRadLng,
      y: origin.y + ((ll.lat - centre.lat) / DEG) * EARTH_RADIUS_M,
    }),
  };
}

/** The middle of the bounding box of every place of the instance (restaurants, customers, courier starts). */
export function instanceMiddle(instance: MdrpInstance): PlanarPoint {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  const see = (p: PlanarPoint) => {
    minX = Math.min(minX, p.x);
    maxX = Math.max(maxX, p.x);
    minY = Math.min(minY, p.y);
    maxY = Math.max(maxY, p.y);
  };
  for (const r of instance.restaurants.values()) see(r);
  for (const o of instance.orders) see(o.customer);
  for (const c of instance.couriers) see(c.start);
  return { x: (minX + maxX) / 2, y: (minY + maxY) / 2 };
}

/** The instance centred on `centre` (default: DEFAULT_CITY_CENTRE). */
export function projectInstance(instance: MdrpInstance, centre: LatLng = DEFAULT_CITY_CENTRE): Projection {
  return projectionAround(instanceMiddle(instance), centre);
}

/** Parses "lat,lng" (command-line flag). */
export function parseCentre(text: string): LatLng {
  const parts = text.split(',').map((s) => Number(s.trim()));
  const [lat, lng] = parts;
  if (parts.length !== 2 || !Number.isFinite(lat) || !Number.isFinite(lng) || Math.abs(lat!) >= 80 || Math.abs(lng!) > 180) {
    throw new RangeError(`centre must be "lat,lng" with |lat| < 80 and |lng| ≤ 180, got "${text}"`);
  }
  return { lat: lat!, lng: lng! };
}
