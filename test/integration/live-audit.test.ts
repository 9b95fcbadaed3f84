/**
 * The double-assignment audit of a live replay finds each kind of double it claims to count, in the
 * records the service keeps (offers, assignments, order_events), and nothing in a clean history.
 */
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { auditDoubleAssignments, serviceRecord } from '../../src/sim/live/audit.js';
import { buildTestApp, createTestContext } from '../support/index.js';
import { http, orderBody } from './orders-helpers.js';

t.test('double assignments are found three ways in Postgres, and once in the couriers’ record', async (t) => {
  const ctx = await createTestContext(t, { WEBHOOK_SENDER: 'off', DISPATCH: 'off' });
  const { baseUrl, token } = await buildTestApp(ctx);
  const store = token('store', 's1');
  const place = async (ext: string) => (await http(baseUrl, 'POST', '/v1/orders', store, orderBody(ext))).body.id as string;
  const [a, b] = [await place('a'), await place('b')];
  const db = ctx.db;
  const clean = await auditDoubleAssignments(db, new Map([['a', ['c1']], ['b', ['c2']]]));
  t.same(clean, { overlappingOffers: 0, overlappingAssignments: 0, acceptedTwice: 0, executedTwice: 0, total: 0 });

  const offer = async (orderIds: string[], courier: string, from: string, to: string | null) => {
    const id = randomUUID();
    await db.query(
      `INSERT INTO offers (id, courier_id, order_ids, stops, status, created_at, expires_at, answered_at) VALUES ($1, $2, $3, '[]', $4, $5, $5::timestamptz + interval '1 hour', $6)`,
      [id, courier, orderIds, to ? 'accepted' : 'open', from, to],
    );
    return id;
  };
  // order a: two offers one after the other (fine), then one overlapping an open offer (a double)
  await offer([a], 'c1', '2026-01-01T10:00Z', '2026-01-01T10:01Z');
  await offer([a, b], 'c2', '2026-01-01T10:01Z', '2026-01-01T10:02Z');
  t.equal((await auditDoubleAssignments(db, new Map())).overlappingOffers, 0, 'back-to-back offers do not overlap');
  await offer([b], 'c3', '2026-01-01T10:01:30Z', null);
  t.equal((await auditDoubleAssignments(db, new Map())).overlappingOffers, 1, 'an order in two open offers at once');

  const o1 = await offer([a], 'c1', '2026-01-01T11:00Z', '2026-01-01T11:00:10Z');
  const o2 = await offer([a], 'c2', '2026-01-01T11:30Z', '2026-01-01T11:30:10Z');
  await db.query(`INSERT INTO assignments (order_id, courier_id, offer_id, assigned_at, ended_at) VALUES ($1, 'c1', $2, '2026-01-01T11:00Z', '2026-01-01T11:20Z')`, [a, o1]);
  await db.query(`INSERT INTO assignments (order_id, courier_id, offer_id, assigned_at) VALUES ($1, 'c2', $2, '2026-01-01T11:30Z')`, [a, o2]);
  t.equal((await auditDoubleAssignments(db, new Map())).overlappingAssignments, 0, 'a reassignment after the first ended is fine');
  const o3 = await offer([b], 'c4', '2026-01-01T11:40Z', '2026-01-01T11:40:10Z');
  const o4 = await offer([b], 'c5', '2026-01-01T11:50Z', '2026-01-01T11:50:10Z');
  // two open rows of one order are refused by the schema (assignments_one_open_per_order), but a row
  // whose recorded end comes after the next one began is still an overlap the audit must see
  await db.query(`INSERT INTO assignments (order_id, courier_id, offer_id, assigned_at, ended_at) VALUES ($1, 'c4', $2, '2026-01-01T11:40Z', '2026-01-01T12:00Z')`, [b, o3]);
  await db.query(`INSERT INTO assignments (order_id, courier_id, offer_id, assigned_at) VALUES ($1, 'c5', $2, '2026-01-01T11:50Z')`, [b, o4]);
  t.equal((await auditDoubleAssignments(db, new Map())).overlappingAssignments, 1, 'two overlapping assignments of one order');
  const refused = await db
    .query(`INSERT INTO assignments (order_id, courier_id, assigned_at, assigned_by, assigned_by_id) VALUES ($1, 'c6', '2026-01-01T11:55Z', 'dispatcher', 'd1')`, [b])
    .then(() => null, (err: { constraint?: string }) => err.constraint);
  t.equal(refused, 'assignments_one_open_per_order', 'a second open assignment of one order is refused outright');

  for (const v of [100, 101]) {
    await db.query(
      `INSERT INTO order_events (event_id, order_id, version, type, actor_role, actor_id, at) VALUES ($1, $2, $3, 'accepted', 'courier', 'c9', now())`,
      [randomUUID(), a, v],
    );
  }
  const all = await auditDoubleAssignments(db, new Map([['a', ['c1', 'c2']]]));
  t.same(all, { overlappingOffers: 1, overlappingAssignments: 1, acceptedTwice: 1, executedTwice: 1, total: 4 });

  const record = await serviceRecord(db, new Map());
  t.same(record.byStatus, { placed: 2 });
  t.equal(record.delivered, 0);
});
