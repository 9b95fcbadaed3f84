/**
 * Migration 0005 (dispatcher overrides) on a database that already holds orders and offer-made
 * assignments: existing rows stay valid (not pinned, priority 0, assigned by 'offer'), and the new
 * constraints refuse what the overrides must never write.
 */
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { migrate, SQL_DIR } from '../../src/store/pg/migrate.js';
import { connectPool, ensureDatabase, withDatabase } from '../../src/store/pg/pool.js';
import { dropDatabase, serviceUrls, uniqueId } from '../support/index.js';

t.test('0005 keeps existing orders and assignments valid and guards the new ones', async (t) => {
  const { serverDatabaseUrl } = serviceUrls();
  const name = `dispatchd_test_${uniqueId()}`;
  await ensureDatabase(serverDatabaseUrl, name);
  t.teardown(() => dropDatabase(serverDatabaseUrl, name));
  const url = withDatabase(serverDatabaseUrl, name);

  // the schema as it was before 0005
  const before = mkdtempSync(join(tmpdir(), 'dispatchd-sql-'));
  t.teardown(() => rmSync(before, { recursive: true, force: true }));
  for (const f of readdirSync(SQL_DIR).filter((f) => /^000[1-4]_.+\.sql$/.test(f))) copyFileSync(join(SQL_DIR, f), join(before, f));
  await migrate({ databaseUrl: url, dir: before });

  const db = await connectPool(url, { max: 2 });
  t.teardown(() => db.end());
  const order = '11111111-1111-4111-8111-111111111111';
  const offer = '22222222-2222-4222-8222-222222222222';
  await db.query(
    `INSERT INTO orders (id, store_id, external_id, request_hash, status, version, zone, pickup_lat, pickup_lng, dropoff_lat, dropoff_lng,
       items, size, placed_at, ready_at, ready_known, delivery_option, promised_by, courier_id, created_at, updated_at)
     VALUES ($1, 's1', 'e1', 'h', 'assigned', 3, 'z', 52.5, 13.4, 52.51, 13.41, 1, 1, now(), now(), false, 'express', now(), 'c1', now(), now())`,
    [order],
  );
  await db.query(`INSERT INTO offers (id, courier_id, order_ids, stops, status, created_at, expires_at) VALUES ($1, 'c1', $2, '[]', 'accepted', now(), now())`, [
    offer,
    [order],
  ]);
  await db.query(`INSERT INTO assignments (order_id, courier_id, offer_id, assigned_at) VALUES ($1, 'c1', $2, now())`, [order, offer]);

  // then 0005 alone (later migrations have their own tests), on the same migration history
  copyFileSync(join(SQL_DIR, '0005_order_overrides.sql'), join(before, '0005_order_overrides.sql'));
  t.same(await migrate({ databaseUrl: url, dir: before }), ['0005_order_overrides'], 'only 0005 was pending');
  t.match((await db.query(`SELECT pinned, priority FROM orders WHERE id = $1`, [order])).rows, [{ pinned: false, priority: 0 }]);
  t.match((await db.query(`SELECT offer_id, assigned_by, assigned_by_id FROM assignments`)).rows, [{ offer_id: offer, assigned_by: 'offer', assigned_by_id: null }]);

  await t.rejects(
    db.query(`INSERT INTO assignments (order_id, courier_id, assigned_at, assigned_by, assigned_by_id) VALUES ($1, 'c2', now(), 'dispatcher', 'd1')`, [order]),
    { message: /assignments_one_open_per_order/ },
    'a second open assignment of one order is refused',
  );
  await db.query(`UPDATE assignments SET ended_at = now(), end_status = 'reassigned' WHERE order_id = $1`, [order]);
  await db.query(`INSERT INTO assignments (order_id, courier_id, assigned_at, assigned_by, assigned_by_id) VALUES ($1, 'c2', now(), 'dispatcher', 'd1')`, [order]);
  t.equal((await db.query(`SELECT count(*)::int AS n FROM assignments WHERE order_id = $1`, [order])).rows[0].n, 2, 'after ending the old one, a dispatcher row needs no offer');
  await db.query(`UPDATE assignments SET ended_at = now() WHERE order_id = $1 AND ended_at IS NULL`, [order]);
  await t.rejects(
    db.query(`INSERT INTO assignments (order_id, courier_id, assigned_at) VALUES ($1, 'c3', now())`, [order]),
    { message: /assignments_offer_or_override/ },
    'an offer-made row needs its offer',
  );
  await t.rejects(db.query(`UPDATE orders SET priority = 11 WHERE id = $1`, [order]), /check/i, 'priority stays within 0..10');
});
