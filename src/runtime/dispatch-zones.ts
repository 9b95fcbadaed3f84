/**
 * Dispatch zones: coarse H3 cells (DISPATCH_ZONE_RESOLUTION), one round and one lease each. The open
 * pool is keyed by the fixed storage zone (domain/geo ZONE_RESOLUTION), so a dispatch zone reads the
 * pool zones it overlaps and keeps the orders whose pickup lies inside it. Pure: no I/O.
 */
import { cellToChildren, cellToParent, getResolution, gridDisk } from 'h3-js';
import { cellOf, ringGeometry, ringsToCover, ZONE_RESOLUTION } from '../domain/geo.js';
import type { LatLng } from '../domain/eta.js';

/** The parent of the point's index cell, as the open pool derives its zones (a parent can differ from the direct cell near borders). */
export function dispatchZoneOf(p: LatLng, zoneResolution: number, indexResolution: number): string {
  return cellToParent(cellOf(p.lat, p.lng, indexResolution), zoneResolution);
}

/** Does the open-pool zone `poolZone` (ZONE_RESOLUTION) share ground with the dispatch zone `zone`? */
export function poolZoneOverlaps(poolZone: string, zone: string): boolean {
  const res = getResolution(zone);
  return res <= ZONE_RESOLUTION ? cellToParent(poolZone, res) === zone : cellToParent(zone, ZONE_RESOLUTION) === poolZone;
}

/**
 * The courier-index cells (at `indexResolution`) within about `radiusM` of any of the pickups: disks
 * around the pickups at a coarser cover resolution (two levels up: few cells, one disk per distinct
 * coarse cell), then their children. Covers neighbouring zones too, since disks ignore zone borders.
 */
export function cellsAround(pickups: readonly LatLng[], radiusM: number, indexResolution: number, zoneResolution: number): string[] {
  const coverRes = Math.min(indexResolution, Math.max(zoneResolution, indexResolution - 2));
  const centres = new Set(pickups.map((p) => cellOf(p.lat, p.lng, coverRes)));
  const cover = new Set<string>();
  for (const c of centres) for (const cell of gridDisk(c, ringsFor(c, radiusM))) cover.add(cell);
  const out: string[] = [];
  for (const c of [...cover].sort()) {
    if (coverRes === indexResolution) out.push(c);
    else for (const child of childrenOf(c, indexResolution)) out.push(child);
  }
  return out;
}

/** Rings to cover a radius around a cell (measuring the cell's geometry is the costly part): remembered. */
const ringsCache = new Map<string, number>();

function ringsFor(cell: string, radiusM: number): number {
  const key = `${cell}/${radiusM}`;
  let k = ringsCache.get(key);
  if (k === undefined) {
    if (ringsCache.size >= CHILDREN_CACHE_MAX) ringsCache.clear();
    k = ringsToCover(ringGeometry(cell), radiusM);
    ringsCache.set(key, k);
  }
  return k;
}

/** Children of cover cells, remembered: rounds of a zone keep asking for the same ones. */
const childrenCache = new Map<string, readonly string[]>();
const CHILDREN_CACHE_MAX = 20_000;

function childrenOf(cell: string, res: number): readonly string[] {
  const key = `${cell}/${res}`;
  let children = childrenCache.get(key);
  if (!children) {
    if (childrenCache.size >= CHILDREN_CACHE_MAX) childrenCache.clear();
    children = cellToChildren(cell, res);
    childrenCache.set(key, children);
  }
  return children;
}
