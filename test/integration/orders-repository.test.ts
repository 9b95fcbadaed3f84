import t from 'tap';
import { createTestContext } from '../support/index.js';
import { applyOrderEvent, createOrder, type Actor } from '../../src/domain/order.js';
import { PgOrderRepository } from '../../src/store/pg/order-repository.js';
import { randomUUID } from 'node:crypto';

const targets = { expressMs: 1800_000, standardMs: 5400_000 };
const store: Actor = { role: 'store', id: 's1' };
const T0 = Date.UTC(2026, 0, 1, 12);
const input = {
  externalId: 'e1',
  pickup: { lat: 52.52, lng: 13.4, address: 'Alexanderplatz 1' },
  dropoff: { lat: 52.53, lng: 13.41 },
  items: 2,
  option: 'express' as const,
};

t.test('order row, event row and outbox row are written together; version-checked', async (t) => {
  const ctx = await createTestContext(t);
  const repo = new PgOrderRepository(ctx.db);
  await repo.setWebhook('s1', 'http://127.0.0.1:9/hook', 'sekret', T0);
  const { order, event } = createOrder(randomUUID(), 's1', input, T0, targets, store);
  const created = await repo.create(order, event, 'h1', 'zone');
  t.equal(created.created, true);
  t.same(await repo.get(order.id), order, 'round-trips through the row mapping');

  const replay = await repo.create({ ...order, id: randomUUID() }, event, 'h1', 'zone');
  t.equal(replay.created, false);
  t.equal(replay.order.id, order.id, 'same body → same order');
  await t.rejects(repo.create({ ...order, id: randomUUID() }, event, 'h2', 'zone'), { code: 'idempotency_conflict' });

  const next = await repo.change(async (tx) => {
    const cur = await tx.load(order.id);
    const r = applyOrderEvent(cur, { type: 'ready' }, store, T0 + 1000);
    await tx.save(cur, r.order, r.event);
    return r.order;
  });
  t.equal(next.version, 2);
  const events = await repo.events(order.id);
  t.same(events.map((e) => [e.version, e.type]), [[1, 'placed'], [2, 'ready']]);
  t.same((await repo.events(order.id, 1)).map((e) => e.version), [2]);
  const outbox = await ctx.db.query('SELECT version, payload FROM webhook_outbox ORDER BY version');
  t.same(outbox.rows.map((r) => r.version), [1, 2], 'one outbox row per event');
  t.equal(outbox.rows[1].payload.order.status, 'ready');

  // a stale writer loses the version check and writes nothing
  const stale = order; // version 1
  const r = applyOrderEvent(stale, { type: 'cancelled' }, store, T0 + 2000);
  await t.rejects(repo.transaction((tx) => tx.save(stale, r.order, r.event)), { code: 'version_conflict' });
  t.equal((await repo.get(order.id))?.status, 'ready');
  t.equal((await repo.events(order.id)).length, 2, 'no event from the losing writer');

  await t.rejects(ctx.db.query('UPDATE order_events SET type = $1', ['x']), /append-only/);
  await t.rejects(ctx.db.query('DELETE FROM order_events'), /append-only/);
});

t.test('list pages newest first with a cursor, filtered by status and store', async (t) => {
  const ctx = await createTestContext(t);
  const repo = new PgOrderRepository(ctx.db);
  for (let i = 0; i < 5; i++) {
    const { order, event } = createOrder(randomUUID(), i < 4 ? 's1' : 's2', { ...input, externalId: `e${i}` }, T0 + i * 1000, targets, store);
    await repo.create(order, event, `h${i}`, 'zone');
  }
  const p1 = await repo.list({ storeId: 's1', limit: 3 });
  t.same(p1.orders.map((o) => o.externalId), ['e3', 'e2', 'e1']);
  t.ok(p1.nextCursor);
  const p2 = await repo.list({ storeId: 's1', limit: 3, cursor: p1.nextCursor! });
  t.same(p2.orders.map((o) => o.externalId), ['e0']);
  t.equal(p2.nextCursor, null);
  t.equal((await repo.list({ status: 'placed', limit: 10 })).orders.length, 5);
  t.equal((await repo.list({ status: 'ready', limit: 10 })).orders.length, 0);
  await t.rejects(repo.list({ limit: 3, cursor: 'garbage' }), { code: 'invalid_cursor' });
});

t.test('concurrent creates of one (store, external id): exactly one order, the rest replays or conflicts', async (t) => {
  const ctx = await createTestContext(t);
  const repo = new PgOrderRepository(ctx.db);
  const make = () => createOrder(randomUUID(), 's1', { ...input, externalId: 'race' }, T0, targets, store);
  const same = await Promise.all(Array.from({ length: 6 }, () => {
    const { order, event } = make();
    return repo.create(order, event, 'same', 'zone');
  }));
  t.equal(same.filter((r) => r.created).length, 1, 'one created');
  t.equal(new Set(same.map((r) => r.order.id)).size, 1, 'all answers name the same order');
  const mixed = await Promise.allSettled(['h-a', 'h-b'].map((h) => {
    const { order, event } = createOrder(randomUUID(), 's1', { ...input, externalId: 'race-2' }, T0, targets, store);
    return repo.create(order, event, h, 'zone');
  }));
  t.same(mixed.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
  t.match(mixed.find((r) => r.status === 'rejected'), { reason: { code: 'idempotency_conflict' } });
  const counts = (await ctx.db.query("SELECT (SELECT count(*) FROM orders)::int AS o, (SELECT count(*) FROM order_events)::int AS e")).rows[0];
  t.same(counts, { o: 2, e: 2 }, 'no orphan events from the losers');
});
