/**
 * Delivery zones, pure: a GeoJSON Polygon or MultiPolygon (lng, lat order) with the settings that
 * decide what is sold there — when it is open, which delivery options with which promise, the fee
 * rules, and which fleet serves it. `zoneProblem` finds the first thing wrong with a zone (so the API
 * can answer a 400 naming it); `isZoneOpenAt` evaluates the active hours in the zone's time zone.
 */
import { area, booleanValid, kinks, polygon as turfPolygon } from '@turf/turf';
import type { DeliveryOption } from '../dispatch/types.js';
import { feeRulesProblem, type FeeRules } from './fees.js';

export type Position = [number, number];
export type Ring = Position[];

export type ZoneGeometry =
  | { readonly type: 'Polygon'; readonly coordinates: Ring[] }
  | { readonly type: 'MultiPolygon'; readonly coordinates: Ring[][] };

/** One opening interval, local time of the zone; `to` before `from` runs past midnight. */
export interface OpeningHours {
  /** ISO weekdays (1 = Monday … 7 = Sunday) the interval starts on; absent: every day. */
  readonly days?: readonly number[];
  /** `HH:MM`, 24 h. */
  readonly from: string;
  readonly to: string;
}

export interface OptionSettings {
  /** The promise floor: a quote never promises earlier than this many minutes after now (orders without a quote get exactly this). */
  readonly promiseMin: number;
  /** A quote whose live estimate is later than this many minutes is not offered (reason `cannot_meet_promise`). */
  readonly maxMin?: number;
  /** Added to the fee of this option (currency units, before surge). */
  readonly feeExtra?: number;
}

export type Fleet = 'own' | 'carrier' | 'both';

export interface ZoneSettings {
  readonly name: string;
  /** An inactive zone is as if it did not exist. */
  readonly active: boolean;
  /** Where zones overlap, the higher priority wins (then the smaller id). */
  readonly priority: number;
  /** IANA time zone of the opening hours. */
  readonly timezone: string;
  /** Empty: always open. */
  readonly hours: readonly OpeningHours[];
  readonly options: Partial<Record<DeliveryOption, OptionSettings>>;
  readonly fee: FeeRules;
  /** Added to the live estimate of a quoted promise (minutes). */
  readonly safetyMarginMin: number;
  readonly fleet: Fleet;
  /** The carrier serving it when fleet is `carrier` or `both`. */
  readonly carrier: string | null;
}

export interface Zone {
  readonly id: string;
  /** null: the built-in default zone that covers the whole world (no zone configured, no SERVICE_AREA). */
  readonly geometry: ZoneGeometry | null;
  readonly settings: ZoneSettings;
  readonly updatedAt: number;
}

/** Bounds on what one zone may be: a city district up to a metropolitan area. */
export const ZONE_LIMITS = {
  minAreaKm2: 0.01,
  maxAreaKm2: 10_000,
  maxVertices: 20_000,
  maxPolygons: 100,
} as const;

export interface ZoneProblem {
  /** Dotted path of the offending field, e.g. `geometry.coordinates.0.2`. */
  readonly field: string;
  readonly message: string;
}

function ringProblem(ring: Ring, field: string): ZoneProblem | null {
  if (ring.length < 4) return { field, message: `a ring needs at least 4 positions (3 corners and the first again), got ${ring.length}` };
  for (let i = 0; i < ring.length; i++) {
    const p = ring[i];
    if (p.length !== 2 || !Number.isFinite(p[0]) || !Number.isFinite(p[1])) return { field: `${field}.${i}`, message: 'a position is [lng, lat]' };
    if (p[0] < -180 || p[0] > 180 || p[1] < -90 || p[1] > 90) return { field: `${field}.${i}`, message: `position [${p[0]}, ${p[1]}] is out of range (lng, lat order)` };
  }
  const first = ring[0];
  const last = ring[ring.length - 1];
  if (first[0] !== last[0] || first[1] !== last[1]) return { field, message: 'ring is not closed: the last position must equal the first' };
  if (new Set(ring.slice(0, -1).map((p) => `${p[0]},${p[1]}`)).size < 3) return { field, message: 'ring has fewer than 3 distinct corners' };
  return null;
}

/** The polygons of a geometry, each as rings (outer first, then holes). */
export function polygonsOf(geometry: ZoneGeometry): Ring[][] {
  return geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates;
}

function geometryProblem(geometry: ZoneGeometry): ZoneProblem | null {
  const polygons = polygonsOf(geometry);
  if (polygons.length === 0) return { field: 'geometry.coordinates', message: 'no polygon' };
  if (polygons.length > ZONE_LIMITS.maxPolygons) return { field: 'geometry.coordinates', message: `at most ${ZONE_LIMITS.maxPolygons} polygons` };
  let vertices = 0;
  let totalKm2 = 0;
  for (let pi = 0; pi < polygons.length; pi++) {
    const rings = polygons[pi];
    const base = geometry.type === 'Polygon' ? 'geometry.coordinates' : `geometry.coordinates.${pi}`;
    if (rings.length === 0) return { field: base, message: 'a polygon needs an outer ring' };
    for (let ri = 0; ri < rings.length; ri++) {
      const problem = ringProblem(rings[ri], `${base}.${ri}`);
      if (problem) return problem;
      vertices += rings[ri].length;
    }
    if (vertices > ZONE_LIMITS.maxVertices) return { field: 'geometry.coordinates', message: `at most ${ZONE_LIMITS.maxVertices} positions in all` };
    const poly = turfPolygon(rings);
    const crossings = kinks(poly).features;
    if (crossings.length > 0) {
      const [lng, lat] = crossings[0].geometry.coordinates;
      return { field: base, message: `polygon intersects itself at [${lng.toFixed(6)}, ${lat.toFixed(6)}]` };
    }
    if (!booleanValid(poly)) return { field: base, message: 'polygon is not valid (a hole outside its outer ring, or rings touching)' };
    const km2 = area(poly) / 1e6;
    if (km2 < ZONE_LIMITS.minAreaKm2) return { field: base, message: `polygon area ${km2.toFixed(4)} km² is below ${ZONE_LIMITS.minAreaKm2} km²` };
    totalKm2 += km2;
  }
  if (totalKm2 > ZONE_LIMITS.maxAreaKm2) return { field: 'geometry', message: `zone area ${Math.round(totalKm2)} km² exceeds ${ZONE_LIMITS.maxAreaKm2} km²` };
  return null;
}

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;

export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function settingsProblem(s: ZoneSettings): ZoneProblem | null {
  if (!isTimeZone(s.timezone)) return { field: 'timezone', message: `unknown time zone ${JSON.stringify(s.timezone)}` };
  for (let i = 0; i < s.hours.length; i++) {
    const h = s.hours[i];
    if (!HHMM.test(h.from) || !HHMM.test(h.to)) return { field: `hours.${i}`, message: 'from and to are HH:MM (24 h)' };
    if (h.from === h.to) return { field: `hours.${i}`, message: 'from and to are equal (an empty interval)' };
  }
  const options = Object.entries(s.options) as [DeliveryOption, OptionSettings][];
  if (options.length === 0) return { field: 'options', message: 'a zone offers at least one delivery option' };
  for (const [name, o] of options) {
    if (o.maxMin !== undefined && o.maxMin < o.promiseMin) return { field: `options.${name}.maxMin`, message: 'maxMin is below promiseMin' };
  }
  const fee = feeRulesProblem(s.fee);
  if (fee) return { field: `fee.${fee.field}`, message: fee.message };
  if (s.fleet !== 'own' && !s.carrier) return { field: 'carrier', message: `fleet ${s.fleet} needs a carrier` };
  return null;
}

/** The first problem of a zone (geometry, then settings), or null when it can be stored. */
export function zoneProblem(geometry: ZoneGeometry, settings: ZoneSettings): ZoneProblem | null {
  return geometryProblem(geometry) ?? settingsProblem(settings);
}

/** One formatter per time zone: building one costs far more than using it. */
const FORMATS = new Map<string, Intl.DateTimeFormat>();

/** Local weekday (1 = Monday) and minute of the day of `at` in `timezone`. */
function localTime(at: number, timezone: string): { day: number; minute: number } {
  let format = FORMATS.get(timezone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-GB', { timeZone: timezone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    FORMATS.set(timezone, format);
  }
  const parts = format.formatToParts(at);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  const day = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(get('weekday')) + 1;
  return { day, minute: Number(get('hour')) * 60 + Number(get('minute')) };
}

const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Is the zone open at `at` (epoch ms)? No hours: always. */
export function isZoneOpenAt(settings: Pick<ZoneSettings, 'hours' | 'timezone'>, at: number): boolean {
  if (settings.hours.length === 0) return true;
  const { day, minute } = localTime(at, settings.timezone);
  const yesterday = day === 1 ? 7 : day - 1;
  return settings.hours.some((h) => {
    const from = minutesOf(h.from);
    const to = minutesOf(h.to);
    const startsOn = (d: number) => !h.days || h.days.includes(d);
    if (from < to) return startsOn(day) && minute >= from && minute < to;
    // past midnight: the evening part today, or the morning part of an interval that began yesterday
    return (startsOn(day) && minute >= from) || (startsOn(yesterday) && minute < to);
  });
}

/** The box `minLat,minLng,maxLat,maxLng` (the SERVICE_AREA setting) as a closed polygon. */
export function boxGeometry(box: { minLat: number; minLng: number; maxLat: number; maxLng: number }): ZoneGeometry {
  const { minLat, minLng, maxLat, maxLng } = box;
  return {
    type: 'Polygon',
    coordinates: [
      [
        [minLng, minLat],
        [maxLng, minLat],
        [maxLng, maxLat],
        [minLng, maxLat],
        [minLng, minLat],
      ],
    ],
  };
}
