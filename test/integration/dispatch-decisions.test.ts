/**
 * Dispatch decisions after real rounds (real Redis, Postgres, courier sockets): an assigned and a
 * waiting order get the records the plan said (reason codes included), GET /v1/orders/:id/dispatch
 * answers them newest first — the latest from Redis at once, the history once the batched writer has
 * flushed it, bounded per order — and only dispatchers, admins and the order's store (redacted) see them.
 */
import t from 'tap';
import { ManualClock } from '../../src/clock.js';
import type { DispatchDecision } from '../../src/dispatch/decisions.js';
import { planRound } from '../../src/dispatch/plan-round.js';
import { buildConsoleState } from '../../src/runtime/console-state.js';
import { dispatcherWiring } from '../../src/runtime/dispatch-loop.js';
import { DECISIONS_PER_ORDER } from '../../src/store/pg/dispatch-decisions.js';
import { decisionKey } from '../../src/store/redis/dispatch-decisions.js';
import { buildTestApp, createTestContext } from '../support/index.js';
import { city } from './dispatch-helpers.js';
import { http } from './orders-helpers.js';

t.test('dispatch decisions', async (t) => {
  const ctx = await createTestContext(t, { STALE_AFTER_MS: '600000', WEBHOOK_SENDER: 'off', OFFER_TTL_MS: '30000' });
  const clock = new ManualClock(Date.now());
  const app = await buildTestApp(ctx, { clock });
  const dispatcher = app.token('dispatcher', 'd1');
  const decisionsOf = async (id: string, token = dispatcher) => http(app.baseUrl, 'GET', `/v1/orders/${id}/dispatch`, token);

  const c = city(app, clock, { lat: 48.137, lng: 11.575 }, t.teardown.bind(t));
  await c.courier('dd-near', 300, 0);
  await c.courier('dd-far', 0, 3000);
  const now = await c.order('dd-now');
  const later = await c.order('dd-later', { readyAt: clock.now() + 2 * 3_600_000 });

  // what the optimizer says about this very snapshot (the round plans the same one: same clock, same state)
  const { ports, options } = dispatcherWiring(app.app);
  const plan = planRound((await ports.roundInput(c.zone, clock.now())).snapshot, options.policy);
  const planned = plan.assignments.find((a) => a.orderIds.includes(now))!;
  t.ok(planned, 'the plan assigns the ready order');
  const waitingReason = plan.unassigned.find((u) => u.orderId === later)?.reason;
  t.equal(waitingReason, 'not_ready_soon_enough', 'and leaves the later one out');

  const roundAt = clock.now();
  const r = await app.app.dispatcher.runRound(c.zone);
  t.match(r, { orders: 2, committed: 1 });
  t.same(r.waiting, { not_ready_soon_enough: 1 }, 'the round record counts its waiting orders by reason (metrics)');

  t.test('the latest decisions are in Redis with the round, as the plan said', async (t) => {
    const res = await decisionsOf(now);
    t.equal(res.status, 200);
    t.equal(res.body.orderId, now);
    const [d] = res.body.decisions as DispatchDecision[];
    t.match(d, { orderId: now, at: roundAt, zone: c.zone, decision: 'assigned', courierId: planned.courierId, pinned: false });
    t.equal(d.courierId, 'dd-near');
    t.equal(d.etaPickupAt, planned.stops[0].serviceAt * 1000);
    t.equal(d.etaDropoffAt, planned.stops[1].serviceAt * 1000);
    t.same(d.stops!.map((s) => s.kind), ['pickup', 'dropoff']);
    t.equal(d.cost!.total, planned.cost.total);
    t.match(d.runnerUp, { courierId: 'dd-far', costDelta: planned.runnerUp!.total - planned.cost.total });
    t.ok(d.runnerUp!.etaPickupAt! > d.etaPickupAt!, 'the runner-up would be at the pickup later');

    const [w] = (await decisionsOf(later)).body.decisions as DispatchDecision[];
    t.match(w, { orderId: later, at: roundAt, decision: 'waiting', reason: waitingReason });
    t.ok(w.nearest?.etaPickupAt, 'the nearest courier and its pickup ETA');
    t.equal(w.nearest!.courierId, 'dd-near', 'the courier closest to its pickup');
    t.ok((await ctx.redis.pttl(decisionKey(later))) > 0, 'the latest decision expires');
  });

  t.test('the history is written in a batch, off the round, and read back newest first', async (t) => {
    const before = await ctx.db.query(`SELECT count(*)::int AS n FROM dispatch_decisions WHERE order_id = ANY($1)`, [[now, later]]);
    t.equal(before.rows[0].n, 0, 'nothing in Postgres until the writer flushes');
    await app.app.decisions.flush();
    const rows = await ctx.db.query(`SELECT order_id, decision, reason, courier_id FROM dispatch_decisions WHERE order_id = ANY($1) ORDER BY order_id`, [[now, later]]);
    t.equal(rows.rows.length, 2);
    t.equal((await decisionsOf(later)).body.decisions.length, 1, 'the same round is not shown twice');

    clock.advance(10_000);
    await app.app.dispatcher.runRound(c.zone);
    const res = await decisionsOf(later);
    t.same(res.body.decisions.map((d: DispatchDecision) => d.at), [roundAt + 10_000, roundAt], 'newest first, the latest from Redis before the flush');
    await app.app.decisions.flush();
    t.same((await decisionsOf(later)).body.decisions.map((d: DispatchDecision) => d.at), [roundAt + 10_000, roundAt]);
  });

  t.test('the history keeps the last rounds of each order only', async (t) => {
    const base = (await decisionsOf(later)).body.decisions[0] as DispatchDecision;
    const extra = Array.from({ length: DECISIONS_PER_ORDER + 5 }, (_, i) => ({ ...base, at: base.at + 1000 * (i + 1) }));
    await app.app.decisions.record(extra);
    await app.app.decisions.flush();
    const { rows } = await ctx.db.query(`SELECT count(*)::int AS n FROM dispatch_decisions WHERE order_id = $1`, [later]);
    t.equal(rows[0].n, DECISIONS_PER_ORDER);
    const res = await decisionsOf(later);
    t.equal(res.body.decisions.length, DECISIONS_PER_ORDER);
    t.equal(res.body.decisions[0].at, extra.at(-1)!.at);
  });

  t.test("the order's store sees a redacted view; couriers and customers none", async (t) => {
    const store = app.token('store', 'store-1');
    const own = await decisionsOf(now, store);
    t.equal(own.status, 200);
    const [d] = own.body.decisions;
    t.equal(d.courierId, 'dd-near', 'its own courier is named');
    t.ok(d.runnerUp && d.runnerUp.costDelta !== undefined, 'the comparison stays');
    t.notOk('courierId' in d.runnerUp, "but not the other courier's id");
    const waiting = (await decisionsOf(later, store)).body.decisions[0];
    t.ok(waiting.nearest && waiting.nearest.etaPickupAt, 'the nearest courier ETA stays');
    t.notOk('courierId' in waiting.nearest, 'its id does not');
    t.equal((await decisionsOf(now, app.token('admin', 'a1'))).body.decisions[0].runnerUp.courierId, 'dd-far', 'admins see everything');

    t.match(await decisionsOf(now, app.token('store', 'store-2')), { status: 404, body: { code: 'order_not_found' } }, "another store's order is absent");
    t.match(await decisionsOf(now, app.token('courier', 'dd-near')), { status: 403, body: { code: 'forbidden' } });
    t.match(await decisionsOf(now, app.token('customer', 'x')), { status: 403, body: { code: 'forbidden' } });
    t.match(await decisionsOf('not-a-uuid'), { status: 400, body: { code: 'validation_failed' } });
    t.match(await decisionsOf('11111111-1111-4111-8111-111111111111'), { status: 404, body: { code: 'order_not_found' } });
    t.equal((await http(app.baseUrl, 'GET', `/v1/orders/${now}/dispatch`, undefined)).status, 401);
  });

  t.test('the route is in the OpenAPI document with its response schema', async (t) => {
    const doc = (await http(app.baseUrl, 'GET', '/openapi.json', undefined)).body;
    const op = doc.paths['/v1/orders/{id}/dispatch'].get;
    t.same(op.tags, ['dispatch']);
    t.ok(op.summary);
    t.ok(op.responses['200'].content['application/json'].schema.properties.decisions);
    t.ok(op.responses['403'] && op.responses['404']);
  });

  t.test('the console state carries the latest decision of each open order', async (t) => {
    const state = await buildConsoleState({ redis: ctx.redis, db: ctx.db, index: app.app.locationIndex, clock, staleAfterMs: 600_000 });
    const waiting = state.orders.find((o) => o.id === later)!;
    const latest = (await decisionsOf(later)).body.decisions[0] as DispatchDecision;
    t.same(waiting.dispatch, { decision: 'waiting', reason: 'not_ready_soon_enough', at: latest.at, nearest: latest.nearest });
    t.match(state.orders.find((o) => o.id === now)!.dispatch, { decision: 'assigned', courierId: 'dd-near' }, 'an order on offer: to whom');
  });
});
