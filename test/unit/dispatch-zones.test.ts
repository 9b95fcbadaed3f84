/** Dispatch zones and the cells a round reads couriers from (pure H3 helpers). */
import t from 'tap';
import { cellToParent, getResolution, gridDisk } from 'h3-js';
import { cellOf, distanceM, zoneOf } from '../../src/domain/geo.js';
import { cellsAround, dispatchZoneOf, poolZoneOverlaps } from '../../src/runtime/dispatch-zones.js';

const BERLIN = { lat: 52.52, lng: 13.405 };
const east = (p: { lat: number; lng: number }, m: number) => ({ lat: p.lat, lng: p.lng + m / (111_320 * Math.cos((p.lat * Math.PI) / 180)) });

t.test('dispatchZoneOf is the parent of the index cell, like the open pool zone', async (t) => {
  const z = dispatchZoneOf(BERLIN, 5, 9);
  t.equal(getResolution(z), 5);
  t.equal(z, zoneOf(cellOf(BERLIN.lat, BERLIN.lng, 9)), 'at resolution 5 it is the pool zone itself');
  t.equal(dispatchZoneOf(BERLIN, 7, 9), cellToParent(cellOf(BERLIN.lat, BERLIN.lng, 9), 7));
});

t.test('a dispatch zone no finer than the pool zone is the pool zone’s parent (what the tick counts by)', async (t) => {
  // points near cell borders included: a grid walked in ~700 m steps around Berlin
  for (let i = 0; i < 400; i++) {
    const p = { lat: BERLIN.lat + (i % 20) * 0.0063, lng: BERLIN.lng + Math.floor(i / 20) * 0.0101 };
    const poolZone = zoneOf(cellOf(p.lat, p.lng, 9));
    for (let res = 0; res <= 5; res++) t.equal(cellToParent(poolZone, res), dispatchZoneOf(p, res, 9));
  }
});

t.test('poolZoneOverlaps: coarser and finer dispatch zones', async (t) => {
  const pool = zoneOf(cellOf(BERLIN.lat, BERLIN.lng, 9));
  t.ok(poolZoneOverlaps(pool, pool), 'same resolution: itself');
  t.ok(poolZoneOverlaps(pool, cellToParent(pool, 4)), 'a coarser zone holds the pool zone');
  t.ok(poolZoneOverlaps(pool, dispatchZoneOf(BERLIN, 7, 9)), 'a finer zone lies in its pool zone');
  const other = gridDisk(pool, 1).find((c) => c !== pool)!;
  t.notOk(poolZoneOverlaps(other, pool), 'a neighbour is not the zone');
  t.notOk(poolZoneOverlaps(other, dispatchZoneOf(BERLIN, 7, 9)));
});

t.test('cellsAround covers every point within the radius, across zone borders', async (t) => {
  const radius = 5000;
  const cells = new Set(cellsAround([BERLIN], radius, 9, 5));
  t.ok([...cells].every((c) => getResolution(c) === 9), 'index resolution');
  for (let m = 0; m <= radius; m += 250) {
    for (const p of [east(BERLIN, m), east(BERLIN, -m), { lat: BERLIN.lat + m / 111_320, lng: BERLIN.lng }]) {
      if (!cells.has(cellOf(p.lat, p.lng, 9))) t.fail(`point ${Math.round(distanceM(BERLIN, p))} m away not covered`);
    }
  }
  const zones = new Set([...cells].map((c) => cellToParent(c, 5)));
  t.ok(zones.size > 1, 'reaches into neighbouring zones');
  t.notOk(cells.has(cellOf(east(BERLIN, 40_000).lat, east(BERLIN, 40_000).lng, 9)), 'but not far beyond the radius');
  const two = cellsAround([BERLIN, east(BERLIN, 100)], radius, 9, 5);
  t.equal(new Set(two).size, two.length, 'no cell twice');
  t.same(cellsAround([], radius, 9, 5), []);
});
