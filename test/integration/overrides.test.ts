/**
 * Dispatcher overrides over HTTP with real courier sockets, Redis and Postgres: assign + pin (also
 * over an open offer and from one courier to another), unassign, priority; every refusal with its
 * code; the dispatcher as the events' actor; assignment rows; racing overrides.
 */
import t from 'tap';
import { ManualClock } from '../../src/clock.js';
import { courierPausedKey } from '../../src/store/redis/courier-paused.js';
import { toOrderRequest } from '../../src/store/redis/open-orders.js';
import { createTestContext, buildTestApp } from '../support/index.js';
import { http, orderBody, PICKUP, WsClient, type Frame } from './orders-helpers.js';

const STALE = 60_000;

t.test('dispatcher overrides', async (t) => {
  const ctx = await createTestContext(t, { STALE_AFTER_MS: String(STALE), WEBHOOK_SENDER: 'off', WEBHOOK_ALLOW_PRIVATE: 'true' });
  const clock = new ManualClock(Date.now());
  const { app, baseUrl, wsUrl, token } = await buildTestApp(ctx, { clock });
  const store = token('store', 's1');
  const dispatcher = token('dispatcher', 'd1');
  const seqs = new Map<string, number>();

  const place = async (ext: string) => (await http(baseUrl, 'POST', '/v1/orders', store, orderBody(ext))).body.id as string;
  const order = async (id: string) => (await http(baseUrl, 'GET', `/v1/orders/${id}`, dispatcher)).body;
  const events = async (id: string) => (await http(baseUrl, 'GET', `/v1/orders/${id}/events`, dispatcher)).body.events as Frame[];
  const assign = (id: string, courierId: string, as = dispatcher, extra: object = {}) =>
    http(baseUrl, 'POST', `/v1/orders/${id}/assign`, as, { courierId, ...extra });
  const unassign = (id: string, as = dispatcher, body: object = {}) => http(baseUrl, 'POST', `/v1/orders/${id}/unassign`, as, body);
  const priority = (id: string, p: unknown, as = dispatcher) => http(baseUrl, 'POST', `/v1/orders/${id}/priority`, as, { priority: p });
  const assignments = async (id: string) =>
    (
      await ctx.db.query(
        'SELECT courier_id, offer_id, assigned_by, assigned_by_id, end_status, ended_at IS NULL AS open FROM assignments WHERE order_id = $1 ORDER BY id',
        [id],
      )
    ).rows;
  const inPool = async (id: string) => (await app.orders.pool.snapshot(app.orders.lifecycle.zoneOf({ pickup: PICKUP }))).find((e) => e.id === id);

  /** A courier socket that has sent a fresh position (so it counts as online). */
  const courier = async (id: string) => {
    const c = await WsClient.connect(`${wsUrl}/v1/courier`, token('courier', id));
    t.teardown(() => c.close());
    await c.nextOf('task');
    await ping(c, id);
    return c;
  };
  const ping = async (c: WsClient, id: string) => {
    const seq = (seqs.get(id) ?? 0) + 1;
    seqs.set(id, seq);
    c.send({ type: 'loc', seq, ts: clock.now(), lat: PICKUP.lat + 0.001, lng: PICKUP.lng, acc: 5 });
    t.match(await c.nextOf('ack', (f) => f.seq === seq), { rejected: [] }, `${id} position stored`);
  };
  const hasOrder = (id: string) => (f: Frame) => (f.orders as Frame[]).some((o) => o.id === id);
  const lacksOrder = (id: string) => (f: Frame) => !(f.orders as Frame[]).some((o) => o.id === id);

  t.test('only dispatchers and admins; bad input is a 400 naming the field; unknown orders 404', async (t) => {
    const id = await place('auth-1');
    for (const [path, body] of [
      [`/v1/orders/${id}/assign`, { courierId: 'c1' }],
      [`/v1/orders/${id}/unassign`, {}],
      [`/v1/orders/${id}/priority`, { priority: 3 }],
    ] as const) {
      t.match(await http(baseUrl, 'POST', path, undefined, body), { status: 401, body: { code: 'unauthorized' } }, `${path} needs a token`);
      for (const role of ['store', 'courier', 'customer'] as const) {
        t.match(await http(baseUrl, 'POST', path, token(role, 'x'), body), { status: 403, body: { code: 'forbidden' } }, `${role} may not`);
      }
      const missing = `/v1/orders/00000000-0000-4000-8000-000000000000/${path.split('/').pop()}`;
      t.match(await http(baseUrl, 'POST', missing, dispatcher, body), { status: 404, body: { code: 'order_not_found' } }, `${path}: unknown order`);
      t.match(await http(baseUrl, 'POST', path.replace(id, 'not-a-uuid'), dispatcher, body), { status: 400, body: { code: 'validation_failed' } });
    }
    const bad: [string, unknown, string][] = [
      ['assign', {}, 'courierId'],
      ['assign', { courierId: '' }, 'courierId'],
      ['assign', { courierId: 'c1', extra: 1 }, 'extra'],
      ['assign', { courierId: 'c1', version: 0 }, 'version'],
      ['unassign', { version: 'x' }, 'version'],
      ['priority', {}, 'priority'],
      ['priority', { priority: 11 }, 'priority'],
      ['priority', { priority: -1 }, 'priority'],
      ['priority', { priority: 2.5 }, 'priority'],
      ['priority', { priority: '3' }, 'priority'],
    ];
    for (const [route, body, field] of bad) {
      const res = await http(baseUrl, 'POST', `/v1/orders/${id}/${route}`, dispatcher, body);
      t.match(res, { status: 400, body: { code: 'validation_failed', details: { field } } }, `${route} ${JSON.stringify(body)}`);
    }
    t.same((await events(id)).map((e) => e.type), ['placed'], 'nothing was applied');
  });

  t.test('assign pins the order to an online courier, who gets it as a task; webhooks and tracking follow', async (t) => {
    await http(baseUrl, 'PUT', '/v1/stores/s1/webhook', store, { url: 'http://127.0.0.1:9/hook', secret: 'x'.repeat(32) });
    const c1 = await courier('c1');
    const id = await place('pin-1');
    t.ok(await inPool(id), 'open before');
    const track = await WsClient.connect(`${wsUrl}/v1/track/${id}`, dispatcher);
    t.teardown(() => track.close());
    await track.nextOf('snapshot');

    const res = await assign(id, 'c1');
    t.equal(res.status, 200);
    t.match(res.body.order, { id, status: 'assigned', courierId: 'c1', pinned: true, priority: 0, version: 2 });
    t.notOk('pin' in res.body.order, 'the public view');
    await c1.nextOf('task.changed', (f) => f.orderId === id && f.event === 'dispatcher_assigned');
    t.match((await c1.nextOf('task', hasOrder(id))).orders, [{ id, status: 'assigned' }], 'the courier has the order in its task');
    t.match(await track.nextOf('order.status', (f) => f.event === 'dispatcher_assigned'), { status: 'assigned', courierId: 'c1' }, 'tracking sees it');

    t.match(await order(id), { status: 'assigned', courierId: 'c1', pinned: true });
    t.match((await events(id)).at(-1), {
      type: 'dispatcher_assigned',
      actor: { role: 'dispatcher', id: 'd1' },
      data: { courierId: 'c1', previousCourierId: null, previousStatus: 'placed' },
    });
    t.same(await assignments(id), [{ courier_id: 'c1', offer_id: null, assigned_by: 'dispatcher', assigned_by_id: 'd1', end_status: null, open: true }]);
    t.notOk(await inPool(id), 'a pinned order is not open: the optimizer never sees it');
    const hook = await ctx.db.query(`SELECT payload FROM webhook_outbox WHERE order_id = $1 ORDER BY version DESC LIMIT 1`, [id]);
    t.match(hook.rows[0].payload, { type: 'dispatcher_assigned', actor: { role: 'dispatcher' }, order: { pinned: true, courierId: 'c1' } }, 'the store is told');
    const list = (await http(baseUrl, 'GET', '/v1/orders?store=s1', dispatcher)).body.orders as Frame[];
    t.match(list.find((o) => o.id === id), { pinned: true, priority: 0 }, 'lists carry pinned and priority');

    const again = await assign(id, 'c1', token('admin', 'a1'));
    t.match(again, { status: 200, body: { order: { courierId: 'c1', pinned: true, version: 3 } } }, 'an admin may too; pinning the same courier again is harmless');
    t.equal((await assignments(id)).length, 1, 'the same courier keeps its assignment row');
  });

  t.test('assigning an order under an open offer withdraws the offer; its other orders go back to the pool', async (t) => {
    const c2 = await courier('c2');
    const c3 = await courier('c3');
    const a = await place('offer-a');
    const b = await place('offer-b');
    const made = await app.orders.offers.offer('c2', [a, b], { role: 'system', id: 'dispatch' });
    await c2.nextOf('offer', (f) => f.offerId === made.offerId);

    const res = await assign(a, 'c3');
    t.match(res, { status: 200, body: { order: { status: 'assigned', courierId: 'c3', pinned: true, offerId: null } } });
    t.match(await c2.nextOf('offer.withdrawn', (f) => f.offerId === made.offerId), { orderIds: made.orderIds }, 'the first courier is told');
    await c3.nextOf('task', hasOrder(a));
    t.equal((await ctx.db.query('SELECT status, reason FROM offers WHERE id = $1', [made.offerId])).rows[0].status, 'withdrawn');
    t.match((await events(a)).at(-1), { type: 'dispatcher_assigned', actor: { id: 'd1' }, data: { withdrawnOfferId: made.offerId, previousCourierId: 'c2' } });
    const other = await order(b);
    t.match(other, { status: 'placed', courierId: null, pinned: false });
    t.same(other.declinedBy, [], 'nobody is excluded by a withdrawal');
    t.match((await events(b)).at(-1), { type: 'offer_withdrawn', actor: { role: 'dispatcher', id: 'd1' } });
    t.ok(await inPool(b), 'the other order is open again');
    t.same((await assignments(a)).map((r) => r.courier_id), ['c3']);

    // the withdrawn offer is not re-sent when the first courier reconnects
    const again = await WsClient.connect(`${wsUrl}/v1/courier`, token('courier', 'c2'));
    t.teardown(() => again.close());
    await again.nextOf('task');
    await new Promise((r) => setTimeout(r, 100));
    t.notOk(again.frames.some((f) => f.type === 'offer'), 'no stale offer on reconnect');
    t.equal((await http(baseUrl, 'POST', `/v1/orders/${b}/offer`, dispatcher, { courierId: 'c2' })).status, 201, 'the courier is free for new offers');
  });

  t.test('moving an order from one courier to another tells both and keeps one open assignment row', async (t) => {
    const c4 = await courier('c4');
    const c5 = await courier('c5');
    const id = await place('move-1');
    const made = await app.orders.offers.offer('c4', [id], { role: 'system', id: 'dispatch' });
    await c4.nextOf('offer', (f) => f.offerId === made.offerId);
    c4.send({ type: 'offer.accept', offerId: made.offerId });
    await c4.nextOf('offer.accepted');
    c4.send({ type: 'status', orderId: id, status: 'arrived_pickup' });
    await c4.nextOf('status.ack');

    const res = await assign(id, 'c5');
    t.match(res, { status: 200, body: { order: { status: 'assigned', courierId: 'c5', pinned: true } } }, 'the new courier still has to reach the pickup');
    t.match(await c4.nextOf('task.changed', (f) => f.orderId === id && f.event === 'dispatcher_assigned'), { reason: 'reassigned' });
    await c4.nextOf('task', lacksOrder(id));
    await c5.nextOf('task', hasOrder(id));
    t.match(await assignments(id), [
      { courier_id: 'c4', offer_id: made.offerId, assigned_by: 'offer', end_status: 'reassigned', open: false },
      { courier_id: 'c5', offer_id: null, assigned_by: 'dispatcher', end_status: null, open: true },
    ]);
    c4.send({ type: 'status', orderId: id, status: 'arrived_pickup' });
    t.equal((await c4.nextOf('error')).code, 'order_not_found', 'the first courier can no longer act on it');
    c5.send({ type: 'status', orderId: id, status: 'arrived_pickup' });
    t.match(await c5.nextOf('status.ack'), { orderId: id, status: 'at_pickup' }, 'the new one can');
  });

  t.test('unassign puts the order back in the open pool, unpinned, and frees the courier', async (t) => {
    const c6 = await courier('c6');
    const id = await place('unassign-1');
    await http(baseUrl, 'POST', `/v1/orders/${id}/ready`, store, {});
    await assign(id, 'c6');
    await c6.nextOf('task', hasOrder(id));

    const res = await unassign(id);
    t.match(res, { status: 200, body: { order: { status: 'ready', courierId: null, pinned: false } } });
    t.match(await c6.nextOf('task.changed', (f) => f.orderId === id && f.event === 'dispatcher_unassigned'), { status: 'ready' });
    await c6.nextOf('task', lacksOrder(id));
    t.match(await inPool(id), { id, readyKnown: true }, 'open again for the optimizer');
    t.match((await events(id)).at(-1), { type: 'dispatcher_unassigned', actor: { role: 'dispatcher', id: 'd1' }, data: { courierId: 'c6', previousStatus: 'assigned' } });
    t.match(await assignments(id), [{ courier_id: 'c6', end_status: 'unassigned', open: false }]);
    t.same((await order(id)).declinedBy, [], 'the courier may get it again');

    t.match(await unassign(id), { status: 409, body: { code: 'order_not_assigned' } }, 'not assigned any more');
    const offered = await place('unassign-offered');
    await http(baseUrl, 'POST', `/v1/orders/${offered}/offer`, dispatcher, { courierId: 'c6' });
    t.match(await unassign(offered), { status: 409, body: { code: 'order_not_assigned' } }, 'an offered order is not assigned');
  });

  t.test('priority reaches the open pool entry and the optimizer request', async (t) => {
    const id = await place('prio-1');
    const res = await priority(id, 7);
    t.match(res, { status: 200, body: { order: { id, priority: 7, status: 'placed', pinned: false } } });
    const entry = await inPool(id);
    t.equal(entry?.priority, 7, 'pool entry');
    t.equal(toOrderRequest(entry!).priority, 7, 'OrderRequest.priority');
    t.match((await events(id)).at(-1), { type: 'priority_changed', actor: { role: 'dispatcher', id: 'd1' }, data: { priority: 7, previousPriority: 0 } });
    t.equal((await priority(id, 0)).body.order.priority, 0, 'and down again');
    t.equal((await inPool(id))?.priority, 0);
    t.equal(toOrderRequest({ ...(await inPool(id))!, priority: undefined }).priority, 0, 'entries written before priorities existed count as 0');
  });

  t.test('refusals: picked up, ended, offline, paused', async (t) => {
    const c7 = await courier('c7');
    const id = await place('refuse-1');
    await assign(id, 'c7');
    c7.send({ type: 'status', orderId: id, status: 'arrived_pickup' });
    await c7.nextOf('status.ack');
    c7.send({ type: 'status', orderId: id, status: 'picked_up' });
    await c7.nextOf('status.ack', (f) => f.status === 'picked_up');
    t.match(await assign(id, 'c1'), { status: 409, body: { code: 'order_not_assignable' } }, 'picked up: not assignable');
    t.match(await unassign(id), { status: 409, body: { code: 'order_picked_up' } });
    t.equal((await priority(id, 5)).body.order.priority, 5, 'priority still applies to an order on its way');

    const cancelled = await place('refuse-2');
    await http(baseUrl, 'POST', `/v1/orders/${cancelled}/cancel`, store, {});
    t.match(await assign(cancelled, 'c1'), { status: 409, body: { code: 'order_not_assignable' } }, 'cancelled: not assignable');
    t.match(await priority(cancelled, 5), { status: 409, body: { code: 'illegal_transition' } }, 'an ended order keeps its priority');

    const open = await place('refuse-3');
    t.match(await assign(open, 'never-seen'), { status: 409, body: { code: 'courier_offline', details: { courierId: 'never-seen' } } });
    await ctx.redis.set(courierPausedKey('c7'), '1');
    t.match(await assign(open, 'c7'), { status: 409, body: { code: 'courier_paused' } });
    await ctx.redis.del(courierPausedKey('c7'));
    clock.advance(STALE + 1);
    t.match(await assign(open, 'c7'), { status: 409, body: { code: 'courier_offline' } }, 'a stale position is offline');
    t.match(await order(open), { status: 'placed', version: 1, pinned: false }, 'refusals change nothing');
    await ping(c7, 'c7');
    t.equal((await assign(open, 'c7')).status, 200, 'online again');
  });

  t.test('racing overrides: one wins, the others get version_conflict, never a double assignment', async (t) => {
    const couriers = ['r1', 'r2', 'r3', 'r4'];
    for (const c of couriers) await courier(c);

    // everybody decided on the same version: exactly one may land
    const id = await place('race-1');
    const results = await Promise.all(couriers.map((c) => assign(id, c, dispatcher, { version: 1 })));
    const won = results.filter((r) => r.status === 200);
    t.equal(won.length, 1, 'exactly one assign wins');
    for (const r of results.filter((x) => x.status !== 200)) t.match(r, { status: 409, body: { code: 'version_conflict' } });
    const winner = won[0]!.body.order.courierId as string;
    t.match(await order(id), { courierId: winner, version: 2 });
    t.match(await assignments(id), [{ courier_id: winner, open: true }], 'one assignment row');
    t.match(await unassign(id, dispatcher, { version: 1 }), { status: 409, body: { code: 'version_conflict' } }, 'a stale version is refused');

    // without versions: whatever interleaving, the history and the rows stay consistent
    for (let round = 0; round < 5; round++) {
      const o = await place(`race-free-${round}`);
      const answers = await Promise.all([assign(o, 'r1'), assign(o, 'r2'), unassign(o), priority(o, 4), assign(o, 'r3')]);
      for (const a of answers) {
        t.ok(a.status === 200 || (a.status === 409 && ['version_conflict', 'order_not_assigned'].includes(a.body.code)), `answer ${a.status} ${a.body.code ?? ''}`);
      }
      const overrideEvents = (await events(o)).filter((e) => e.type !== 'placed');
      t.equal(overrideEvents.length, answers.filter((a) => a.status === 200).length, 'one event per success, none for a refusal');
      const current = await order(o);
      const open = (await assignments(o)).filter((r) => r.open);
      t.ok(open.length <= 1, 'never two open assignments');
      t.equal(open[0]?.courier_id ?? null, current.status === 'assigned' ? current.courierId : null, 'the open row names the order courier');
    }
  });
});
