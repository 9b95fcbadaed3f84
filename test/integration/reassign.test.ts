/**
 * Assignment updates in the live service (issue 14), real Redis, Postgres and courier sockets: an order
 * assigned to a far courier whose store then says the food is ready much earlier moves once to a near
 * courier (old courier: `task.changed` reason `reassigned`; new courier: an offer it accepts; events in
 * order; the decision says why); a small change of the estimate moves nothing; a courier reaching the
 * store while the move commits gives exactly one outcome, never two couriers.
 */
import t, { type Test } from 'tap';
import { ManualClock } from '../../src/clock.js';
import type { DispatchDecision } from '../../src/dispatch/decisions.js';
import { OfferError } from '../../src/runtime/offers.js';
import { buildTestApp, createTestContext, type TestApp } from '../support/index.js';
import { city, type City } from './dispatch-helpers.js';
import { http, type Frame, type WsClient } from './orders-helpers.js';

// An app booted per case and concurrent races: ~100 s on a loaded 2-core machine, past tap's default 120 s budget.
t.setTimeout(240_000);

const MIN = 60_000;
const ENV = { STALE_AFTER_MS: '7200000', WEBHOOK_SENDER: 'off', OFFER_TTL_MS: '60000' };

interface World {
  app: TestApp;
  clock: ManualClock;
  c: City;
  dispatcher: string;
  store: string;
  order(id: string): Promise<Record<string, unknown>>;
  events(id: string): Promise<Frame[]>;
  assignments(id: string): Promise<{ courier_id: string; end_status: string | null; open: boolean }[]>;
  /** Places an order ready in 30 min, with only `far` (6 km away) free, and has `far` accept it. */
  assignedToFar(ext: string, far: WsClient): Promise<{ id: string; placedAt: number }>;
}

async function world(t: Test, env: Record<string, string> = {}): Promise<World> {
  const ctx = await createTestContext(t, { ...ENV, ...env });
  const clock = new ManualClock(Date.now());
  const app = await buildTestApp(ctx, { clock });
  const c = city(app, clock, { lat: 48.137, lng: 11.575 }, t.teardown.bind(t));
  const dispatcher = app.token('dispatcher', 'd1');
  const store = app.token('store', 'store-1');
  const w: World = {
    app,
    clock,
    c,
    dispatcher,
    store,
    order: async (id) => (await http(app.baseUrl, 'GET', `/v1/orders/${id}`, dispatcher)).body,
    events: async (id) => (await http(app.baseUrl, 'GET', `/v1/orders/${id}/events`, dispatcher)).body.events as Frame[],
    assignments: async (id) =>
      (await ctx.db.query('SELECT courier_id, end_status, ended_at IS NULL AS open FROM assignments WHERE order_id = $1 ORDER BY id', [id])).rows,
    async assignedToFar(ext, far) {
      const placedAt = clock.now();
      const id = await c.order(ext, { readyAt: placedAt + 30 * MIN });
      // the far courier is sent when it must set off to be there at the store's estimate
      for (let i = 0; i < 10 && (await w.order(id)).status !== 'offered'; i++) {
        await app.app.dispatcher.runRound(c.zone);
        if ((await w.order(id)).status !== 'offered') clock.advance(MIN);
      }
      const offer = await far.nextOf('offer', (f) => (f.orderIds as string[]).includes(id));
      far.send({ type: 'offer.accept', offerId: offer.offerId });
      await far.nextOf('offer.accepted');
      return { id, placedAt };
    },
  };
  return w;
}

const decisionsOf = async (w: World, id: string) => (await http(w.app.baseUrl, 'GET', `/v1/orders/${id}/dispatch`, w.dispatcher)).body.decisions as DispatchDecision[];

t.test('food ready much earlier: the order moves once from the far courier to the near one', async (t) => {
  const w = await world(t);
  const { app, c, clock } = w;
  const far = await c.courier('far', 6000, 0);
  const { id, placedAt } = await w.assignedToFar('o-1', far);
  t.match(await w.order(id), { status: 'assigned', courierId: 'far' });

  const near = await c.courier('near', 300, 0);
  const quiet = await app.app.dispatcher.runRound(c.zone);
  t.equal(quiet.reassigned, undefined, 'estimate unchanged: a nearer courier alone moves nothing');
  t.match(await w.order(id), { status: 'assigned', courierId: 'far' });

  // the store: ready now, ~28 minutes before the estimate the far courier was sent for
  const ready = await http(app.baseUrl, 'POST', `/v1/orders/${id}/ready`, w.store, {});
  t.equal(ready.status, 200);
  const round = await app.app.dispatcher.runRound(c.zone);
  t.equal(round.reassigned, 1, 'the round moved it');

  // (the store's ready time was a change of its order too: a task.changed `ready` came first)
  const taken = await far.nextOf('task.changed', (f) => f.orderId === id && f.event !== 'ready');
  t.match(taken, { orderId: id, event: 'reassigned', reason: 'reassigned' }, 'the far courier is told it was taken away');
  const task = await far.nextOf('task', (f) => !(f.orders as { id: string }[]).some((o) => o.id === id));
  t.same(task.orders, [], 'and gets its task without it');
  const offer = await near.nextOf('offer', (f) => (f.orderIds as string[]).includes(id));
  t.match(offer.stops, [{ kind: 'pickup' }, { kind: 'dropoff' }], 'the near courier gets an offer with its stops');
  t.match(await w.order(id), { status: 'offered', courierId: 'near', offerId: offer.offerId });

  const [d] = await decisionsOf(w, id);
  t.match(d, { decision: 'reassigned', courierId: 'near', reassigned: { reason: 'estimate_changed', fromCourierId: 'far' }, ready: { source: 'known' } });
  t.ok(d.reassigned!.savedS > 20 * 60, `picked up ${Math.round(d.reassigned!.savedS / 60)} min earlier`);
  t.ok(d.reassigned!.readyChangeS <= -25 * 60, `the estimate moved ${Math.round(d.reassigned!.readyChangeS / 60)} min`);
  t.ok(d.reassigned!.gainS >= 300, 'by more than the minimum gain');

  near.send({ type: 'offer.accept', offerId: offer.offerId });
  await near.nextOf('offer.accepted');
  t.match(await w.order(id), { status: 'assigned', courierId: 'near' });
  const types = (await w.events(id)).map((e) => e.type);
  t.same(types, ['placed', 'offered', 'accepted', 'ready', 'reassigned', 'accepted'], 'events in order');
  const moved = (await w.events(id)).find((e) => e.type === 'reassigned')!;
  t.match(moved, { actor: { role: 'system' }, data: { courierId: 'near', previousCourierId: 'far', reason: 'estimate_changed', offerId: offer.offerId } });
  t.same(
    (await w.assignments(id)).map((a) => [a.courier_id, a.end_status, a.open]),
    [
      ['far', 'reassigned', false],
      ['near', null, true],
    ],
    'one courier at a time: the far assignment ended as reassigned, the near one open',
  );

  // once: neither back nor on to anyone else, however the couriers stand
  const far2 = await c.courier('nearer', 100, 0);
  clock.advance(20 * MIN);
  const again = await app.app.dispatcher.runRound(c.zone);
  t.equal(again.reassigned, undefined, 'moved at most once');
  t.match(await w.order(id), { status: 'assigned', courierId: 'near' });
  far2.close();
  t.ok(clock.now() - placedAt > 0);
});

t.test('with the loop running, the store’s new ready time alone triggers the round that moves the order', async (t) => {
  // rounds only when an order becomes open or an assigned one gets a ready time (no interval round in this test)
  const w = await world(t, { DISPATCH: 'on', DISPATCH_DEBOUNCE_MS: '1000', DISPATCH_INTERVAL_MS: '86400000' });
  const { app, c, clock } = w;
  const far = await c.courier('far', 6000, 0);
  const { id } = await w.assignedToFar('o-loop', far);
  // let any round still pending from the placement run first
  clock.advance(1000);
  await app.app.dispatcher.idle();
  const near = await c.courier('near', 300, 0);
  clock.advance(1000);
  await app.app.dispatcher.idle();
  t.match(await w.order(id), { status: 'assigned', courierId: 'far' }, 'a courier appearing triggers nothing');
  await http(app.baseUrl, 'POST', `/v1/orders/${id}/ready`, w.store, {});
  t.match(await w.order(id), { status: 'assigned', courierId: 'far' }, 'nothing before the debounce');
  clock.advance(1000);
  await app.app.dispatcher.idle();
  const offer = await near.nextOf('offer', (f) => (f.orderIds as string[]).includes(id));
  t.match(await w.order(id), { status: 'offered', courierId: 'near', offerId: offer.offerId }, 'moved by the debounced round');
});

t.test('hysteresis: a small change of the estimate moves nothing', async (t) => {
  const w = await world(t);
  const { app, c } = w;
  const far = await c.courier('far', 6000, 0);
  const { id, placedAt } = await w.assignedToFar('o-small', far);
  await c.courier('near', 300, 0);
  // 2 minutes earlier than the store said (REASSIGN_READY_CHANGE_S is 5 min)
  await http(app.baseUrl, 'POST', `/v1/orders/${id}/ready`, w.store, { readyAt: placedAt + 28 * MIN });
  const round = await app.app.dispatcher.runRound(c.zone);
  t.equal(round.reassigned, undefined);
  t.match(await w.order(id), { status: 'assigned', courierId: 'far' }, 'still with the far courier');
  t.notOk((await w.events(id)).some((e) => e.type === 'reassigned'));
});

t.test('REASSIGN=off: the same change moves nothing', async (t) => {
  const w = await world(t, { REASSIGN: 'off' });
  const { app, c } = w;
  const far = await c.courier('far', 6000, 0);
  const { id } = await w.assignedToFar('o-off', far);
  await c.courier('near', 300, 0);
  await http(app.baseUrl, 'POST', `/v1/orders/${id}/ready`, w.store, {});
  await app.app.dispatcher.runRound(c.zone);
  t.match(await w.order(id), { status: 'assigned', courierId: 'far' });
});

t.test('a courier reaching the store races the move: exactly one outcome, never two couriers', async (t) => {
  const w = await world(t);
  const { app, c } = w;
  const pause = (id: string) => http(app.baseUrl, 'POST', `/v1/couriers/${id}/pause`, w.dispatcher, {});

  // deterministic: the arrival commits first, the move decided before it is dropped by its compare-and-set
  {
    const far = await c.courier('far-0', 6000, 0);
    const { id } = await w.assignedToFar('race-0', far);
    await c.courier('near-0', 300, 0);
    const before = await w.order(id);
    far.send({ type: 'status', orderId: id, status: 'arrived_pickup' });
    t.match(await far.nextOf('status.ack'), { orderId: id, status: 'at_pickup' });
    const stale = moveFarToNear(app, w, id, 0, before.version as number);
    await t.rejects(stale, OfferError, 'the move lost');
    await stale.catch((err: OfferError) => t.equal(err.code, 'order_changed'));
    t.match(await w.order(id), { status: 'at_pickup', courierId: 'far-0' });
    t.notOk((await w.events(id)).some((e) => e.type === 'reassigned'), 'nothing of the move was written');
    t.same((await w.assignments(id)).filter((a) => a.open).map((a) => a.courier_id), ['far-0']);
    await pause('far-0');
    await pause('near-0');
  }

  // concurrent: the move (a whole round, or the move's transaction alone) and the courier's arrival at
  // the same moment; whichever commits first, the other is refused
  const outcomes = { moved: 0, arrived: 0 };
  const RACES = 6;
  for (let i = 1; i <= RACES; i++) {
    const far = await c.courier(`far-${i}`, 6000, 0);
    const { id } = await w.assignedToFar(`race-${i}`, far);
    const near = await c.courier(`near-${i}`, 300, 0);
    await http(app.baseUrl, 'POST', `/v1/orders/${id}/ready`, w.store, {});
    const before = await w.order(id);
    const moving: Promise<{ reassigned?: number }> =
      i % 2 === 1
        ? app.app.dispatcher.runRound(c.zone)
        : moveFarToNear(app, w, id, i, before.version as number).then(
              () => ({ reassigned: 1 }),
              (err: OfferError) => {
                t.equal(err.code, 'order_changed', 'a move that lost is refused as order_changed');
                return {};
              },
            );
    far.send({ type: 'status', orderId: id, status: 'arrived_pickup' });
    const [round, answer] = await Promise.all([
      moving,
      far.next((f) => (f.type === 'status.ack' || f.type === 'error') && f.orderId === id, 5000, 'answer to the arrival'),
    ]);
    const order = await w.order(id);
    const open = (await w.assignments(id)).filter((a) => a.open);
    const moves = (await w.events(id)).filter((e) => e.type === 'reassigned').length;
    if (order.status === 'offered') {
      outcomes.moved++;
      t.match(order, { courierId: `near-${i}` }, `#${i}: the move won`);
      t.equal(round.reassigned, 1);
      t.equal(answer.type, 'error', 'the arrival is refused');
      t.same(open, [], 'nobody is bound until the near courier accepts');
      await near.nextOf('offer', (f) => (f.orderIds as string[]).includes(id));
    } else {
      outcomes.arrived++;
      t.match(order, { status: 'at_pickup', courierId: `far-${i}` }, `#${i}: the arrival won`);
      t.match(answer, { type: 'status.ack', status: 'at_pickup' });
      t.equal(round.reassigned, undefined);
      t.same(open.map((a) => a.courier_id), [`far-${i}`]);
    }
    t.ok(moves <= 1, 'moved at most once');
    await pause(`far-${i}`);
    await pause(`near-${i}`);
  }
  t.equal(outcomes.moved + outcomes.arrived, RACES, `every race had one outcome (${outcomes.moved} moved, ${outcomes.arrived} arrived first)`);
});

function clock(w: World): number {
  return w.clock.now();
}

/** The move's transaction alone (what a round commits), far-<n> → near-<n>, as if the food were ready 25 min early. */
function moveFarToNear(app: TestApp, w: World, orderId: string, n: number, expectedVersion: number) {
  return app.app.orders.offers.move(
    {
      orderId,
      fromCourierId: `far-${n}`,
      toCourierId: `near-${n}`,
      expectedVersion,
      stops: [],
      plannedReadyAt: clock(w),
      reason: 'estimate_changed',
      savedS: 1500,
      gainS: 1600,
      readyChangeS: -1500,
    },
    { role: 'system', id: 'dispatcher' },
  );
}
