/**
 * Which stored orders a dispatch zone's assignment updates read (orders.zone is the H3 cell at
 * ZONE_RESOLUTION), and which dispatch zones the interval tick runs for zones with assigned orders.
 */
import t from 'tap';
import { cellToParent, latLngToCell } from 'h3-js';
import { ZONE_RESOLUTION } from '../../src/domain/geo.js';
import { dispatchZonesOf, storageZonesOf } from '../../src/runtime/reassignment.js';

// as the service stores it: the parent of the pickup's index cell
const cell = latLngToCell(48.137, 11.575, 9);
const storage = cellToParent(cell, ZONE_RESOLUTION);

t.test('storage zones of a dispatch zone', async (t) => {
  t.same(storageZonesOf(storage, ZONE_RESOLUTION), [storage], 'the same resolution: the zone itself');
  const coarse = cellToParent(storage, ZONE_RESOLUTION - 1);
  const children = storageZonesOf(coarse, ZONE_RESOLUTION - 1);
  t.equal(children.length, 7, 'a coarser zone: its children at the storage resolution');
  t.ok(children.includes(storage));
  const fine = cellToParent(cell, ZONE_RESOLUTION + 2);
  t.same(storageZonesOf(fine, ZONE_RESOLUTION + 2), [storage], 'a finer zone: its parent (the orders are then filtered by pickup)');
});

t.test('dispatch zones of storage zones with assigned orders', async (t) => {
  t.same(dispatchZonesOf([storage], ZONE_RESOLUTION), [storage]);
  const sibling = storageZonesOf(cellToParent(storage, ZONE_RESOLUTION - 1), ZONE_RESOLUTION - 1).find((z) => z !== storage)!;
  t.same(dispatchZonesOf([storage, sibling], ZONE_RESOLUTION - 1), [cellToParent(storage, ZONE_RESOLUTION - 1)], 'one coarser zone for both');
  t.same(dispatchZonesOf([storage], ZONE_RESOLUTION + 2), [], 'finer dispatch zones: left to the ready events and open orders');
});
