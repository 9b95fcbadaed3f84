/**
 * Geography helpers: H3 cells, rings and distances. Pure: no I/O.
 * Everything here takes (lat, lng); GeoJSON order (lng, lat) appears only when calling turf.
 */
import {
  cellToBoundary,
  cellToLatLng,
  cellToParent,
  gridDiskDistances,
  gridDisk,
  isValidCell,
  latLngToCell,
} from 'h3-js';
import { distance as turfDistance } from '@turf/turf';

export interface LatLng {
  readonly lat: number;
  readonly lng: number;
}

/** Zones are coarse H3 cells (~250 km² at res 5): the unit of sharding and of dispatch rounds. */
export const ZONE_RESOLUTION = 5;

export function cellOf(lat: number, lng: number, res: number): string {
  return latLngToCell(lat, lng, res);
}

/** The zone (coarse parent cell) a cell belongs to; used as the Redis Cluster hash tag. */
export function zoneOf(cell: string): string {
  return cellToParent(cell, ZONE_RESOLUTION);
}

export function isCell(value: string): boolean {
  return isValidCell(value);
}

/** All cells within `k` grid steps of `cell` (the filled disk, including `cell`). */
export function ringAround(cell: string, k: number): string[] {
  return gridDisk(cell, k);
}

/** Cells grouped by grid distance: result[k] is the hollow ring at distance k (result[0] = [cell]). */
export function ringsAround(cell: string, k: number): string[][] {
  return gridDiskDistances(cell, k);
}

/** Turf's Earth radius, so distanceM and turfDistanceM agree to the last bit of the formula. */
const EARTH_RADIUS_M = 6371008.8;
const RAD = Math.PI / 180;

/**
 * Great-circle distance in metres: the haversine formula exactly as turf's `distance` computes it, written
 * out because it runs for every incoming point and turf's version allocates two coordinate arrays per call.
 */
export function distanceM(a: LatLng, b: LatLng): number {
  const dLat = (b.lat - a.lat) * RAD;
  const dLng = (b.lng - a.lng) * RAD;
  const h = Math.sin(dLat / 2) ** 2 + Math.sin(dLng / 2) ** 2 * Math.cos(a.lat * RAD) * Math.cos(b.lat * RAD);
  return EARTH_RADIUS_M * 2 * Math.atan2(Math.sqrt(h), Math.sqrt(1 - h));
}

/** The same distance through turf (reference for tests and non-hot paths). */
export function turfDistanceM(a: LatLng, b: LatLng): number {
  return turfDistance([a.lng, a.lat], [b.lng, b.lat], { units: 'meters' });
}

export function isValidLatLng(lat: number, lng: number): boolean {
  return (
    Number.isFinite(lat) &&
    Number.isFinite(lng) &&
    lat >= -90 &&
    lat <= 90 &&
    lng >= -180 &&
    lng <= 180 &&
    // (0,0) "Null Island" is what broken GPS stacks report when they have no fix.
    !(lat === 0 && lng === 0)
  );
}

/**
 * Local geometry of the H3 grid around a cell, measured rather than assumed because H3 cells vary in
 * size (up to ~2x across the globe, slowly over a city).
 */
export interface RingGeometry {
  /** Smallest distance between the centre of `cell` and the centres of its neighbours. */
  readonly centerSpacingM: number;
  /** Largest distance from the centre of `cell` to one of its vertices. */
  readonly circumradiusM: number;
}

export function ringGeometry(cell: string): RingGeometry {
  const [clat, clng] = cellToLatLng(cell);
  const centre = { lat: clat, lng: clng };
  let spacing = Infinity;
  for (const n of gridDisk(cell, 1)) {
    if (n === cell) continue;
    const [lat, lng] = cellToLatLng(n);
    spacing = Math.min(spacing, distanceM(centre, { lat, lng }));
  }
  let radius = 0;
  for (const [lat, lng] of cellToBoundary(cell)) radius = Math.max(radius, distanceM(centre, { lat, lng }));
  return { centerSpacingM: spacing, circumradiusM: radius };
}

/**
 * A disk around a cell's centre that lies inside the cell, so a point in it needs no H3 lookup (couriers
 * send many points per cell). The inscribed circle of a hexagon is √3/2 of its smallest centre–vertex
 * distance (a pentagon's is more); another 0.8 covers the cells' distortion.
 */
export interface CellDisk extends LatLng {
  readonly cell: string;
  readonly radiusM: number;
}

export function cellDisk(cell: string): CellDisk {
  const [lat, lng] = cellToLatLng(cell);
  let minVertex = Infinity;
  for (const [vlat, vlng] of cellToBoundary(cell)) minVertex = Math.min(minVertex, distanceM({ lat, lng }, { lat: vlat, lng: vlng }));
  return { cell, lat, lng, radiusM: minVertex * (Math.sqrt(3) / 2) * 0.8 };
}

/** The cell of a point, reusing `known` when the point lies in its disk; returns the disk for next time. */
export function cellDiskOf(lat: number, lng: number, res: number, known: CellDisk | null): CellDisk {
  if (known !== null && distanceM(known, { lat, lng }) <= known.radiusM) return known;
  const cell = latLngToCell(lat, lng, res);
  return known !== null && known.cell === cell ? known : cellDisk(cell);
}

/** Safety margin for grid distortion between the measured origin cell and cells some rings away. */
const DISTORTION_MARGIN = 0.85;

/**
 * A lower bound of the distance from any point of the origin cell to any point of a cell `k` rings away.
 * Cell centres k steps apart are at least k·s·√3/2 apart (hexagonal grid); each point lies within one
 * circumradius of its cell's centre.
 */
export function ringLowerBoundM(geom: RingGeometry, k: number): number {
  if (k <= 1) return 0;
  const centres = k * geom.centerSpacingM * (Math.sqrt(3) / 2) * DISTORTION_MARGIN;
  return Math.max(0, centres - 2 * geom.circumradiusM / DISTORTION_MARGIN);
}

/** The smallest k such that every point within `radiusM` of a point in the origin cell lies within k rings. */
export function ringsToCover(geom: RingGeometry, radiusM: number): number {
  let k = 1;
  while (ringLowerBoundM(geom, k + 1) <= radiusM) k++;
  return k;
}
