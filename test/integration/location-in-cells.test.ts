/** LocationIndex.inCells: the couriers a dispatch round reads from an area of cells, on real Redis. */
import t from 'tap';
import { cellOf, zoneOf } from '../../src/domain/geo.js';
import { cellsAround } from '../../src/runtime/dispatch-zones.js';
import { LocationIndex, type CourierUpdate } from '../../src/store/redis/location-index.js';
import { createTestContext } from '../support/index.js';

t.test('inCells: fresh couriers whose current cell is in the area, each once, across zones', async (t) => {
  const ctx = await createTestContext(t);
  const index = new LocationIndex(ctx.redis, 9);
  const now = 1_800_000_000_000;
  const at = (id: string, lat: number, lng: number, serverTs = now, previousCell: string | null = null): CourierUpdate => ({
    courierId: id,
    serverTs,
    maxSeq: 1,
    previousCell,
    current: { seq: 1, ts: serverTs, lat, lng, cell: cellOf(lat, lng, 9) },
  });
  const P = { lat: 52.52, lng: 13.405 };
  await index.write(
    [
      at('near', P.lat + 0.01, P.lng),
      at('other-zone', P.lat, P.lng + 0.13), // ~9 km east: another res-5 zone
      at('stale', P.lat - 0.01, P.lng, now - 120_000),
      at('far', P.lat + 1, P.lng),
      at('mover', P.lat + 0.02, P.lng),
    ],
    [],
  );
  // the mover leaves for somewhere far away: its old cell set may still name it
  await index.write([at('mover', P.lat + 2, P.lng, now + 1, cellOf(P.lat + 0.02, P.lng, 9))], []);

  const cells = cellsAround([P], 12_000, 9, 5);
  const found = await index.inCells(cells, now + 1, 60_000);
  t.same(found.map((c) => c.courierId), ['near', 'other-zone'], 'fresh, in the area, id order');
  t.not(zoneOf(found[0].cell), zoneOf(found[1].cell), 'the two are in different zones');
  t.match(found[0], { lat: P.lat + 0.01, lng: P.lng, serverTs: now });
  t.same(await index.inCells([], now, 60_000), []);
});
