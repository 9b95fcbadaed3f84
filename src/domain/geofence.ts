/**
 * Arrival detection with hysteresis, pure.
 *
 * A courier has arrived at a stop once its fixes have stayed within `radiusM` for `dwellMs`. Fixes
 * with worse accuracy than `maxAccuracyM` say nothing (they neither start nor break a dwell). A dwell
 * only breaks when a fix lands beyond `exitRadiusM` (> radiusM): a track jittering across the radius
 * edge keeps its dwell running instead of flapping between inside and outside.
 */
import { distance, point } from '@turf/turf';

export interface GeofenceParams {
  readonly radiusM: number;
  /** Must be ≥ radiusM; the band between the two radii is where nothing changes. */
  readonly exitRadiusM: number;
  readonly dwellMs: number;
  readonly maxAccuracyM: number;
}

export interface Fix {
  readonly lat: number;
  readonly lng: number;
  /** Device time, epoch ms. */
  readonly ts: number;
  /** Accuracy radius in metres; unknown accuracy is treated as acceptable. */
  readonly acc?: number;
}

export interface GeofenceState {
  /** Device time of the first fix of the current dwell, or null when not dwelling. */
  readonly dwellSince: number | null;
  readonly arrived: boolean;
}

export const initialGeofence: GeofenceState = { dwellSince: null, arrived: false };

export function metersBetween(a: { lat: number; lng: number }, b: { lat: number; lng: number }): number {
  // turf and GeoJSON take (lng, lat)
  return distance(point([a.lng, a.lat]), point([b.lng, b.lat]), { units: 'meters' });
}

export type GeofenceZone = 'inside' | 'band' | 'outside' | 'ignored';

export function zoneOf(fix: Fix, target: { lat: number; lng: number }, params: GeofenceParams): GeofenceZone {
  if (fix.acc !== undefined && fix.acc > params.maxAccuracyM) return 'ignored';
  const d = metersBetween(fix, target);
  if (d <= params.radiusM) return 'inside';
  if (d <= params.exitRadiusM) return 'band';
  return 'outside';
}

/**
 * Feeds one fix. `arrivedNow` is true exactly once: on the fix that completes the dwell.
 * Once arrived, the state stays arrived (leaving a stop is a status change, not a geofence flap).
 */
export function stepGeofence(
  state: GeofenceState,
  fix: Fix,
  target: { lat: number; lng: number },
  params: GeofenceParams,
): { state: GeofenceState; arrivedNow: boolean } {
  if (state.arrived) return { state, arrivedNow: false };
  const zone = zoneOf(fix, target, params);
  let dwellSince = state.dwellSince;
  if (zone === 'outside') dwellSince = null;
  else if (zone === 'inside' && dwellSince === null) dwellSince = fix.ts;
  // 'band' and 'ignored' keep whatever dwell is running
  if (dwellSince !== null && zone !== 'ignored' && fix.ts - dwellSince >= params.dwellMs) {
    return { state: { dwellSince, arrived: true }, arrivedNow: true };
  }
  return { state: { dwellSince, arrived: false }, arrivedNow: false };
}
