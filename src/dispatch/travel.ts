/**
 * Travel-time models. The optimizer only sees places through a TravelModel, so the MDRP harness
 * (planar metres, integer-minute rounding) and the live service (lat/lng) share one algorithm.
 */
import type { PlanarPoint, TravelModel } from './types.js';

export interface LatLng {
  readonly lat: number;
  readonly lng: number;
}

/**
 * MDRP rule: travel time = ceil(euclidean metres / metres per minute) whole minutes, in seconds.
 * Uses sqrt(dx² + dy²) rather than Math.hypot so the rounding matches the public evaluator's.
 */
export function planarTravelModel(metersPerMinute: number): TravelModel<PlanarPoint> {
  if (!(metersPerMinute > 0)) throw new RangeError(`metersPerMinute must be > 0, got ${metersPerMinute}`);
  return {
    seconds(a, b) {
      const dx = a.x - b.x;
      const dy = a.y - b.y;
      return Math.ceil(Math.sqrt(dx * dx + dy * dy) / metersPerMinute) * 60;
    },
    planar: (p) => p,
    // ceil only lengthens trips, so the raw speed is an upper bound.
    maxSpeedMps: metersPerMinute / 60,
  };
}

const EARTH_RADIUS_M = 6_371_008.8;
const RAD = Math.PI / 180;

export function haversineMeters(a: LatLng, b: LatLng): number {
  const dLat = (b.lat - a.lat) * RAD;
  const dLng = (b.lng - a.lng) * RAD;
  const s = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * RAD) * Math.cos(b.lat * RAD) * Math.sin(dLng / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(s)));
}

export interface HaversineOptions {
  /** Latitude (degrees) of the zone the projection is centred on; pruning is exact near it. */
  readonly refLat?: number;
  /**
   * Planar distances from the equirectangular projection drift from great-circle ones away from refLat;
   * maxSpeedMps is inflated by this factor so pruning never drops a reachable pair. Default 1.1 with a
   * refLat (zones span a few degrees at most), 2.5 without one (safe up to ±66° latitude, looser pruning).
   */
  readonly pruneSlack?: number;
}

/** Straight-line (great-circle) travel at a constant speed, rounded up to whole seconds. */
export function haversineTravelModel(speedMps: number, options: HaversineOptions = {}): TravelModel<LatLng> {
  if (!(speedMps > 0)) throw new RangeError(`speedMps must be > 0, got ${speedMps}`);
  const cosRef = Math.cos((options.refLat ?? 0) * RAD);
  const slack = options.pruneSlack ?? (options.refLat === undefined ? 2.5 : 1.1);
  return {
    seconds: (a, b) => Math.ceil(haversineMeters(a, b) / speedMps),
    planar: (p) => ({ x: EARTH_RADIUS_M * p.lng * RAD * cosRef, y: EARTH_RADIUS_M * p.lat * RAD }),
    maxSpeedMps: speedMps * slack,
  };
}
