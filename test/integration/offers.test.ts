/**
 * Offers on the real courier socket: expiry on the injected clock counts as a rejection, rejection
 * with a reason, exclusion of couriers who declined (also in the open pool the optimizer reads),
 * accept only once and only by its courier, re-sent on reconnect, and racing accept/cancel.
 */
import t from 'tap';
import { ManualClock, type Clock } from '../../src/clock.js';
import { toOrderRequest } from '../../src/store/redis/open-orders.js';
import { createTestContext, buildTestApp } from '../support/index.js';
import { http, markOnline, orderBody, WsClient, until, type Frame } from './orders-helpers.js';

const TTL = 30_000;

t.test('offers', async (t) => {
  const ctx = await createTestContext(t, { OFFER_TTL_MS: String(TTL), WEBHOOK_SENDER: 'off' });
  const clock = new ManualClock(Date.now());
  const { app, baseUrl, wsUrl, token } = await buildTestApp(ctx, { clock });
  const store = token('store', 's1');
  const dispatcher = token('dispatcher', 'd1');
  const place = async (ext: string) => (await http(baseUrl, 'POST', '/v1/orders', store, orderBody(ext))).body.id as string;
  // a manual offer needs an online courier (as an assign does)
  const offer = async (orderId: string, courierId: string) => {
    await markOnline(app, courierId);
    return http(baseUrl, 'POST', `/v1/orders/${orderId}/offer`, dispatcher, { courierId });
  };
  const order = async (id: string) => (await http(baseUrl, 'GET', `/v1/orders/${id}`, dispatcher)).body;
  const eventTypes = async (id: string) => ((await http(baseUrl, 'GET', `/v1/orders/${id}/events`, dispatcher)).body.events as Frame[]).map((e) => e.type);
  const courier = async (id: string) => {
    const c = await WsClient.connect(`${wsUrl}/v1/courier`, token('courier', id));
    t.teardown(() => c.close());
    await c.nextOf('task');
    return c;
  };

  t.test('no answer by the expiry counts as a rejection; the courier is excluded from then on', async (t) => {
    const c1 = await courier('c1');
    const id = await place('exp-1');
    const made = await offer(id, 'c1');
    t.equal(made.status, 201);
    const frame = await c1.nextOf('offer');
    t.equal(frame.expiresAt, clock.now() + TTL, 'expiry on the injected clock');

    clock.advance(TTL - 1);
    await app.orders.offers.idle();
    t.equal((await order(id)).status, 'offered', 'not expired a millisecond early');
    clock.advance(1);
    await app.orders.offers.idle();
    await c1.nextOf('offer.expired', (f) => f.offerId === frame.offerId);
    const after = await order(id);
    t.equal(after.status, 'placed', 'back in the open pool');
    t.same(after.declinedBy, ['c1']);
    t.same((await eventTypes(id)).slice(-1), ['offer_expired']);

    const pool = await app.orders.pool.snapshot(app.orders.lifecycle.zoneOf(after));
    t.same(pool.find((e) => e.id === id)?.declinedBy, ['c1'], 'the optimizer sees the exclusion in the open pool');
    const request = toOrderRequest(pool.find((e) => e.id === id)!);
    t.match(request, { id, pickupId: 's1', declinedBy: ['c1'], option: 'express', readyKnown: false });
    t.equal(request.promisedBy, Math.floor(after.promisedBy / 1000), 'epoch seconds for the optimizer');

    const again = await offer(id, 'c1');
    t.equal(again.status, 409, 'never offered to that courier again');
    t.equal(again.body.code, 'illegal_transition');

    c1.send({ type: 'offer.accept', offerId: frame.offerId });
    t.equal((await c1.nextOf('error')).code, 'offer_expired', 'a late accept is refused, with the one late-accept code');
    t.equal((await order(id)).status, 'placed');
  });

  t.test('an accept after the expiry is refused even before the timer or the sweep has run', async (t) => {
    // this node's timers never fire: only its clock decides whether the offer is still open
    let now = clock.now();
    const lagging: Clock = { now: () => now, setTimeout: () => () => undefined };
    const node = await buildTestApp(ctx, { clock: lagging });
    t.teardown(() => node.close());
    const c = await WsClient.connect(`${node.wsUrl}/v1/courier`, node.token('courier', 'c8'));
    t.teardown(() => c.close());
    await c.nextOf('task');
    const id = (await http(node.baseUrl, 'POST', '/v1/orders', store, orderBody('late-accept-1'))).body.id as string;
    await markOnline(node.app, 'c8');
    t.equal((await http(node.baseUrl, 'POST', `/v1/orders/${id}/offer`, dispatcher, { courierId: 'c8' })).status, 201);
    const frame = await c.nextOf('offer');
    now = (frame.expiresAt as number) + 1;
    c.send({ type: 'offer.accept', offerId: frame.offerId });
    t.equal((await c.nextOf('error')).code, 'offer_expired', 'refused with its own code');
    await node.app.orders.offers.idle();
    const after = await order(id);
    t.equal(after.status, 'placed', 'the refused accept expired the offer at once: the order is back in the pool');
    t.same(after.declinedBy, ['c8']);
    t.same(await eventTypes(id), ['placed', 'offered', 'offer_expired'], 'never accepted');
    t.equal((await ctx.db.query('SELECT count(*)::int AS n FROM assignments WHERE order_id = $1', [id])).rows[0].n, 0);
    t.equal((await ctx.db.query('SELECT status FROM offers WHERE id = $1', [frame.offerId])).rows[0].status, 'expired');
  });

  t.test('reject with a reason; the offer is re-sent on reconnect until answered', async (t) => {
    const id = await place('rej-1');
    const made = await offer(id, 'c2');
    t.equal((await app.orders.pool.snapshot(app.orders.lifecycle.zoneOf({ pickup: made.body.stops[0] }))).some((e) => e.id === id), false, 'offered orders leave the pool');
    // c2 was not connected when the offer was made: it gets it on connect, and again on reconnect
    const first = await WsClient.connect(`${wsUrl}/v1/courier`, token('courier', 'c2'));
    t.equal((await first.nextOf('offer')).offerId, made.body.offerId);
    first.close();
    await first.closed;
    const c2 = await courier('c2');
    const frame = await c2.nextOf('offer');
    t.equal(frame.offerId, made.body.offerId);
    t.equal((await offer(await place('rej-2'), 'c2')).body.code, 'courier_has_open_offer', 'one open offer per courier');

    c2.send({ type: 'offer.reject', offerId: frame.offerId, reason: 'too far' });
    await c2.nextOf('offer.rejected');
    const after = await order(id);
    t.equal(after.status, 'placed');
    t.same(after.declinedBy, ['c2']);
    const events = (await http(baseUrl, 'GET', `/v1/orders/${id}/events`, dispatcher)).body.events as Frame[];
    t.match(events.at(-1), { type: 'offer_rejected', actor: { role: 'courier', id: 'c2' }, data: { reason: 'too far' } });
    t.ok((await app.orders.pool.snapshot(app.orders.lifecycle.zoneOf(after))).some((e) => e.id === id), 'back in the pool');

    c2.send({ type: 'offer.reject', offerId: frame.offerId });
    t.match(await c2.nextOf('error'), { code: 'bad_frame' }, 'a reject needs a reason');
  });

  t.test('accept only once and only by the courier it was made to; the task survives reconnects', async (t) => {
    const c3 = await courier('c3');
    const c4 = await courier('c4');
    const id = await place('acc-1');
    await offer(id, 'c3');
    const frame = await c3.nextOf('offer');
    c4.send({ type: 'offer.accept', offerId: frame.offerId });
    t.equal((await c4.nextOf('error')).code, 'offer_not_yours');
    c3.send({ type: 'offer.accept', offerId: frame.offerId });
    await c3.nextOf('offer.accepted');
    c3.send({ type: 'offer.accept', offerId: frame.offerId });
    t.equal((await c3.nextOf('error')).code, 'offer_closed');
    t.same(await eventTypes(id), ['placed', 'offered', 'accepted'], 'accepted exactly once');

    c3.close();
    await c3.closed;
    const again = await WsClient.connect(`${wsUrl}/v1/courier`, token('courier', 'c3'));
    t.teardown(() => again.close());
    const task = await again.nextOf('task');
    t.match(task.orders, [{ id, status: 'assigned' }]);
    t.same((task.stops as Frame[]).map((s) => s.kind), ['pickup', 'dropoff']);
    await new Promise((r) => setTimeout(r, 100));
    t.notOk(again.frames.some((f) => f.type === 'offer'), 'no stale offer re-sent');

    c4.send({ type: 'status', orderId: id, status: 'arrived_pickup' });
    t.equal((await c4.nextOf('error')).code, 'order_not_found', 'another courier cannot report on it');

    again.send({ type: 'status', orderId: id, status: 'failed' });
    t.equal((await again.nextOf('error')).code, 'bad_frame', 'a failure needs a reason');
    again.send({ type: 'status', orderId: id, status: 'failed', reason: 'store_cannot_fulfil', note: 'closed' });
    t.match(await again.nextOf('status.ack'), { orderId: id, status: 'failed' });
    const events = (await http(baseUrl, 'GET', `/v1/orders/${id}/events`, dispatcher)).body.events as Frame[];
    t.match(events.at(-1), { type: 'failed', data: { reason: 'store_cannot_fulfil', note: 'closed', previousStatus: 'assigned' } });
    t.same((await ctx.db.query('SELECT end_status FROM assignments WHERE order_id = $1', [id])).rows, [{ end_status: 'failed' }]);
    t.same((await again.nextOf('task', (f) => (f.orders as unknown[]).length === 0)).orders, [], 'the courier is free again');
  });

  t.test('racing accept and cancel resolve to exactly one outcome', async (t) => {
    const outcomes = { acceptWon: 0, cancelWon: 0 };
    for (let i = 0; i < 8; i++) {
      const cid = `race-${i}`;
      const c = await courier(cid);
      const id = await place(`race-${i}`);
      await offer(id, cid);
      const frame = await c.nextOf('offer');
      c.send({ type: 'offer.accept', offerId: frame.offerId });
      const cancel = http(baseUrl, 'POST', `/v1/orders/${id}/cancel`, store, { reason: 'race' });
      const answer = await c.next((f) => f.type === 'offer.accepted' || f.type === 'error');
      const cancelled = await cancel;
      t.equal(cancelled.status, 200, 'the cancel always lands');
      t.equal(cancelled.body.status, 'cancelled');
      const types = await eventTypes(id);
      const offerRow = (await ctx.db.query('SELECT status FROM offers WHERE id = $1', [frame.offerId])).rows[0];
      if (answer.type === 'offer.accepted') {
        outcomes.acceptWon++;
        t.same(types, ['placed', 'offered', 'accepted', 'cancelled'], 'accept first, then the assigned order was cancelled');
        t.equal(offerRow.status, 'accepted');
        await c.nextOf('task.changed', (f) => f.orderId === id && f.status === 'cancelled');
        const assignment = (await ctx.db.query('SELECT end_status FROM assignments WHERE order_id = $1', [id])).rows;
        t.same(assignment, [{ end_status: 'cancelled' }], 'the assignment was ended');
      } else {
        outcomes.cancelWon++;
        t.equal(answer.code, 'offer_closed', 'the late accept is refused');
        t.same(types, ['placed', 'offered', 'cancelled'], 'no accept in the history');
        t.equal(offerRow.status, 'withdrawn');
        t.equal((await ctx.db.query('SELECT count(*)::int AS n FROM assignments WHERE order_id = $1', [id])).rows[0].n, 0);
      }
    }
    t.equal(outcomes.acceptWon + outcomes.cancelWon, 8);
    t.comment(`accept won ${outcomes.acceptWon}, cancel won ${outcomes.cancelWon}`);
  });

  t.test('two concurrent offers to one courier: exactly one lands', async (t) => {
    const [x, y] = [await place('dual-x'), await place('dual-y')];
    const results = await Promise.all([offer(x, 'c6'), offer(y, 'c6')]);
    t.same(results.map((r) => r.status).sort(), [201, 409]);
    t.equal(results.find((r) => r.status === 409)!.body.code, 'courier_has_open_offer');
    const statuses = [(await order(x)).status, (await order(y)).status].sort();
    t.same(statuses, ['offered', 'placed'], 'the losing order was not touched');
  });

  t.test('cancelling one order of an offer withdraws it; the others return without excluding the courier', async (t) => {
    const c = await courier('c5');
    const a = await place('bundle-a');
    const b = await place('bundle-b');
    const made = await app.orders.offers.offer('c5', [a, b], { role: 'dispatcher', id: 'd1' });
    await c.nextOf('offer', (f) => f.offerId === made.offerId);
    t.equal((await http(baseUrl, 'POST', `/v1/orders/${a}/cancel`, store, {})).body.status, 'cancelled');
    await c.nextOf('offer.withdrawn', (f) => f.offerId === made.offerId);
    const other = await order(b);
    t.equal(other.status, 'placed');
    t.same(other.declinedBy, [], 'a withdrawn offer excludes nobody');
    await until(async () => (await offer(b, 'c5')).status === 201, 2000, 'courier can be offered again');
  });

  t.test('an offer made before a restart still expires after it (the sweep reads Redis and Postgres)', async (t) => {
    const id = await place('restart-1');
    const made = await app.orders.offers.offer('c7', [id], { role: 'dispatcher', id: 'd1' });
    // a second node with its own clock, far past the expiry; the first never fires its timer
    const later = new ManualClock(made.expiresAt + 1);
    const other = await buildTestApp(ctx, { clock: later });
    later.advance(0);
    await other.app.orders.offers.idle();
    await until(async () => (await order(id)).status === 'placed', 3000, 'expired by the other node');
    t.same((await order(id)).declinedBy, ['c7']);
    const n = (await ctx.db.query("SELECT count(*)::int AS n FROM order_events WHERE order_id = $1 AND type = 'offer_expired'", [id])).rows[0].n;
    t.equal(n, 1, 'expired exactly once');
    clock.advance(TTL);
    await app.orders.offers.idle();
    t.equal((await ctx.db.query("SELECT count(*)::int AS n FROM order_events WHERE order_id = $1 AND type = 'offer_expired'", [id])).rows[0].n, 1, 'the first node does not expire it again');
    await other.close();
  });
});
