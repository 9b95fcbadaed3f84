/**
 * Point-in-zone lookups without a polygon scan per request: every zone is indexed by H3 cells at
 * ZONE_INDEX_RESOLUTION. A cell no zone edge crosses is *interior* (its zones answer directly); a cell
 * an edge may cross is *boundary* (its zones get an exact point-in-polygon check). Built once per zone
 * change on every node.
 *
 * Building: `polygonToCells` (cells whose centre is inside) gives the candidates. The cells along every
 * ring edge (sampled at an eighth of a cell edge, then grown by one ring so no touched cell is missed) may
 * be crossed by an edge; of those, a cell is still interior when no sample fell in it and turf finds its
 * hexagon wholly inside the polygon. Every other cell off the edges lies wholly inside or wholly outside,
 * so its centre decides.
 */
import { booleanContains, booleanPointInPolygon, polygon as turfPolygon } from '@turf/turf';
import type { Feature, Polygon } from 'geojson';
import { cellToBoundary, getHexagonEdgeLengthAvg, gridDisk, latLngToCell, polygonToCells } from 'h3-js';
import type { LatLng } from './geo.js';
import { polygonsOf, type Ring, type Zone } from './zones.js';

/** ~0.1 km² cells, 175 m edges: a district of a few km² is mostly interior cells, a 10,000 km² zone 100k cells. */
export const ZONE_INDEX_RESOLUTION = 9;

interface Indexed {
  readonly zone: Zone;
  readonly polygons: Feature<Polygon>[];
}

/** Exact test, the same one the brute-force check in the tests uses (boundary counts as inside). */
export function zoneContains(polygons: readonly Feature<Polygon>[], p: LatLng): boolean {
  const pt: [number, number] = [p.lng, p.lat];
  return polygons.some((poly) => booleanPointInPolygon(pt, poly));
}

export function zonePolygons(zone: Zone): Feature<Polygon>[] {
  return zone.geometry ? polygonsOf(zone.geometry).map((rings) => turfPolygon(rings)) : [];
}

/** Cells an edge of `ring` may cross (lng, lat positions; planar interpolation, as the exact test). */
function edgeCells(ring: Ring, res: number, into: Set<string>): void {
  const stepM = getHexagonEdgeLengthAvg(res, 'm') / 8;
  for (let i = 0; i + 1 < ring.length; i++) {
    const [lng0, lat0] = ring[i];
    const [lng1, lat1] = ring[i + 1];
    const lenM = Math.hypot((lat1 - lat0) * 111_320, (lng1 - lng0) * 111_320 * Math.cos(((lat0 + lat1) / 2) * (Math.PI / 180)));
    const n = Math.max(1, Math.ceil(lenM / stepM));
    for (let k = 0; k <= n; k++) {
      const t = k / n;
      into.add(latLngToCell(lat0 + (lat1 - lat0) * t, lng0 + (lng1 - lng0) * t, res));
    }
  }
}

/** Ordering where zones overlap: higher priority first, then id. */
function before(a: Zone, b: Zone): number {
  return b.settings.priority - a.settings.priority || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** A zone's cells, split into interior and boundary; depends only on its geometry. */
export interface ZoneCells {
  readonly interior: readonly string[];
  readonly boundary: readonly string[];
}

export function zoneCells(zone: Zone, polygons: readonly Feature<Polygon>[], resolution: number): ZoneCells {
  const interior: string[] = [];
  const boundary: string[] = [];
  if (!zone.geometry) return { interior, boundary };
  const edges = new Set<string>();
  const centres = new Set<string>();
  for (const rings of polygonsOf(zone.geometry)) {
    for (const ring of rings) edgeCells(ring, resolution, edges);
    for (const c of polygonToCells(rings, resolution, true)) centres.add(c);
  }
  const grown = new Set<string>();
  for (const c of edges) for (const n of gridDisk(c, 1)) grown.add(n);
  for (const c of grown) {
    if (centres.has(c) && !edges.has(c) && cellWithin(c, polygons)) interior.push(c);
    else boundary.push(c);
  }
  for (const c of centres) if (!grown.has(c)) interior.push(c);
  return { interior, boundary };
}

export class ZoneIndex {
  private readonly interior = new Map<string, Zone[]>();
  private readonly boundary = new Map<string, Indexed[]>();
  /** Zones without geometry (the built-in world-wide default) contain every point. */
  private readonly everywhere: Zone[] = [];
  readonly zones: readonly Zone[];

  /**
   * @param cache cells of zones indexed before, by their geometry's JSON: a reload after one zone changed
   *   recomputes only that zone (computing cells costs milliseconds per km² of edge band).
   */
  constructor(
    zones: readonly Zone[],
    readonly resolution = ZONE_INDEX_RESOLUTION,
    cache?: Map<string, ZoneCells>,
  ) {
    this.zones = [...zones].sort(before);
    const keep = new Set<string>();
    for (const zone of this.zones) {
      if (!zone.geometry) {
        this.everywhere.push(zone);
        continue;
      }
      const indexed: Indexed = { zone, polygons: zonePolygons(zone) };
      const key = JSON.stringify(zone.geometry);
      keep.add(key);
      let cells = cache?.get(key);
      if (!cells) {
        cells = zoneCells(zone, indexed.polygons, resolution);
        cache?.set(key, cells);
      }
      for (const c of cells.boundary) push(this.boundary, c, indexed);
      for (const c of cells.interior) push(this.interior, c, zone);
    }
    if (cache) for (const key of cache.keys()) if (!keep.has(key)) cache.delete(key);
    // keep each cell's list in zone order, so the first match is the winner
    for (const list of this.interior.values()) list.sort(before);
    for (const list of this.boundary.values()) list.sort((a, b) => before(a.zone, b.zone));
  }

  /** Every zone containing the point, highest priority first. */
  zonesAt(p: LatLng): Zone[] {
    const cell = latLngToCell(p.lat, p.lng, this.resolution);
    const inside = this.interior.get(cell);
    const edge = this.boundary.get(cell);
    if (!inside && !edge) return this.everywhere.slice();
    const out: Zone[] = inside ? inside.slice() : [];
    if (edge) for (const e of edge) if (zoneContains(e.polygons, p)) out.push(e.zone);
    out.push(...this.everywhere);
    return inside && edge ? out.sort(before) : out;
  }

  /** The first zone containing the point that `usable` accepts (active, open …), or null. */
  find(p: LatLng, usable: (zone: Zone) => boolean = () => true): Zone | null {
    return this.zonesAt(p).find(usable) ?? null;
  }

  /** Cells indexed (for the benchmark's record). */
  size(): { interior: number; boundary: number } {
    return { interior: this.interior.size, boundary: this.boundary.size };
  }
}

/** Is the cell's hexagon wholly inside one of the polygons? */
function cellWithin(cell: string, polygons: readonly Feature<Polygon>[]): boolean {
  const hex = turfPolygon([cellToBoundary(cell, true)]);
  return polygons.some((poly) => booleanContains(poly, hex));
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
