/**
 * WS /v1/console on a real app: who may open it, and what the pushed state says about couriers
 * (from the live location index, with status and load), orders, H3 cells and KPIs as things change.
 */
import t from 'tap';
import { createTestContext, buildTestApp } from '../support/index.js';
import { http, orderBody, PICKUP, WsClient, type Frame } from './orders-helpers.js';
import { CONSOLE_CELL_RESOLUTION } from '../../src/runtime/console-state.js';
import { cellToLatLng, getResolution } from 'h3-js';

type State = Frame & { couriers: Frame[]; orders: Frame[]; cells: Frame[]; kpis: Record<string, unknown>; at: number };

t.test('only dispatchers and admins may open the console socket', async (t) => {
  const ctx = await createTestContext(t, { WEBHOOK_SENDER: 'off', DISPATCH: 'off' });
  const { wsUrl, token } = await buildTestApp(ctx);
  const none = await WsClient.connect(`${wsUrl}/v1/console`);
  t.match(await none.closed, { code: 1008, reason: 'unauthorized' }, 'no token');
  for (const role of ['courier', 'store', 'customer'] as const) {
    const ws = await WsClient.connect(`${wsUrl}/v1/console`, token(role, 'x1'));
    t.match(await ws.closed, { code: 1008, reason: 'forbidden' }, `role ${role} is refused`);
    t.same(ws.frames, [], 'and gets no state');
  }
  const bad = await WsClient.connect(`${wsUrl}/v1/console?token=not.a.jwt`);
  t.match(await bad.closed, { code: 1008 }, 'a malformed token is refused');
  for (const role of ['dispatcher', 'admin'] as const) {
    const ws = await WsClient.connect(`${wsUrl}/v1/console?token=${token(role, 'd1')}`);
    t.match(await ws.nextOf('state'), { type: 'state', couriers: [], orders: [], cells: [] }, `role ${role} gets the state (token in the query, as browsers send it)`);
    ws.close();
  }
});

t.test('the state frame follows couriers, orders, cells and KPIs', async (t) => {
  const ctx = await createTestContext(t, { WEBHOOK_SENDER: 'off', DISPATCH: 'off', STALE_AFTER_MS: '3000' });
  const { app, baseUrl, wsUrl, token } = await buildTestApp(ctx);
  const store = token('store', 's1');
  const busyId = (await http(baseUrl, 'POST', '/v1/orders', store, orderBody('con-1'))).body.id as string;
  const waitingId = (await http(baseUrl, 'POST', '/v1/orders', store, orderBody('con-2'))).body.id as string;

  const couriers = await Promise.all(['c1', 'c2', 'c3'].map((id) => WsClient.connect(`${wsUrl}/v1/courier`, token('courier', id))));
  t.teardown(() => couriers.forEach((c) => c.close()));
  const t0 = Date.now() - 60_000;
  const sendLoc = async (i: number, seq: number, lat: number, lng: number) => {
    // 30 s of device time between fixes: a plausible ride
    couriers[i]!.send({ type: 'loc', seq, ts: t0 + seq * 30_000, lat, lng, acc: 5 });
    t.same((await couriers[i]!.nextOf('ack', (f) => f.seq === seq)).rejected, []);
  };
  await sendLoc(0, 1, PICKUP.lat + 0.001, PICKUP.lng);
  await sendLoc(1, 1, PICKUP.lat, PICKUP.lng + 0.002);
  await sendLoc(2, 1, PICKUP.lat - 0.001, PICKUP.lng);
  const offer = await app.orders.offers.offer('c1', [busyId], { role: 'dispatcher', id: 'd1' });
  await app.orders.offers.accept('c1', offer.offerId);
  t.match(await http(baseUrl, 'POST', '/v1/couriers/c3/pause', token('dispatcher', 'd1'), {}), { status: 200, body: { paused: true } });

  const consoleWs = await WsClient.connect(`${wsUrl}/v1/console`, token('dispatcher', 'd1'));
  t.teardown(() => consoleWs.close());
  const first = (await consoleWs.nextOf('state')) as State;
  t.same(
    first.couriers.map((c) => [c.courierId, c.status, c.load]),
    [
      ['c1', 'busy', 1],
      ['c2', 'free', 0],
      ['c3', 'paused', 0],
    ],
    'couriers of this deployment only (key prefix), with status and load',
  );
  t.match(first.couriers[1], { lat: PICKUP.lat, lng: PICKUP.lng + 0.002 });
  const byId = new Map(first.orders.map((o) => [o.id, o]));
  t.match(byId.get(busyId), { status: 'assigned', courierId: 'c1', externalId: 'con-1', pinned: false, priority: 0, pickup: { lat: PICKUP.lat } });
  t.match(byId.get(waitingId), { status: 'placed', courierId: null });
  t.ok((byId.get(waitingId)!.ageMs as number) >= 0 && typeof byId.get(waitingId)!.promisedBy === 'number', 'age and promised time');
  t.equal(first.cells.length, 1, 'one cell holds the open order and the free courier');
  const cell = first.cells[0]!;
  t.match(cell, { openOrders: 1, freeCouriers: 1 });
  t.equal(getResolution(cell.cell as string), CONSOLE_CELL_RESOLUTION);
  const ring = cell.boundary as [number, number][];
  t.ok(ring.length >= 7, 'a hexagon ring');
  t.same(ring[0], ring.at(-1), 'closed, as GeoJSON wants');
  const [cLat, cLng] = cellToLatLng(cell.cell as string);
  t.ok(Math.abs(ring[0]![0] - cLng) < 0.02 && Math.abs(ring[0]![1] - cLat) < 0.02, 'in (lng, lat) order');
  t.match(first.kpis, { delivered: 0, onTimePct: null, waiting: 1, activeCouriers: 3, costPerOrder: null });

  // pushes keep coming, and follow the courier as it moves
  await sendLoc(1, 2, PICKUP.lat + 0.008, PICKUP.lng + 0.008);
  const moved = (await consoleWs.nextOf('state', (f) => (f as State).couriers.some((c) => c.courierId === 'c2' && c.lat === PICKUP.lat + 0.008), 4000)) as State;
  t.ok(moved.at > first.at, 'a later state');
  t.equal(moved.cells.find((c) => c.freeCouriers === 1)?.openOrders ?? 0, 0, 'the free courier left the order’s cell');

  // delivering the order feeds the KPIs
  for (const s of ['arrived_pickup', 'picked_up', 'arrived_dropoff', 'delivered'] as const) await app.orders.tasks.status('c1', busyId, s);
  const after = (await consoleWs.nextOf('state', (f) => (f as State).kpis.delivered === 1, 4000)) as State;
  t.notOk(after.orders.some((o) => o.id === busyId), 'a delivered order leaves the list');
  t.match(after.kpis, { delivered: 1, onTimePct: 100, waiting: 1 });
  t.ok((after.kpis.clickToDoorP50Min as number) >= 0 && after.kpis.clickToDoorP50Min === after.kpis.clickToDoorP90Min, 'one delivery: p50 = p90');
  t.equal(after.kpis.costPerOrder, 10, 'a quick delivery costs the per-order pay');
  t.equal(after.couriers.find((c) => c.courierId === 'c1')!.status, 'free', 'the courier is free again');

  // silent couriers turn offline after STALE_AFTER_MS
  const stale = (await consoleWs.nextOf('state', (f) => (f as State).couriers.find((c) => c.courierId === 'c3')?.status === 'offline', 6000)) as State;
  t.equal(stale.kpis.activeCouriers, 3 - stale.couriers.filter((c) => c.status === 'offline').length, 'active couriers leave out offline ones');
});

t.test('with ?delta=1 the socket sends one full state, then only what changed', async (t) => {
  const ctx = await createTestContext(t, { WEBHOOK_SENDER: 'off', DISPATCH: 'off' });
  const { baseUrl, wsUrl, token } = await buildTestApp(ctx);
  const orderId = (await http(baseUrl, 'POST', '/v1/orders', token('store', 's1'), orderBody('delta-1'))).body.id as string;
  const courier = await WsClient.connect(`${wsUrl}/v1/courier`, token('courier', 'c1'));
  t.teardown(() => courier.close());
  const t0 = Date.now() - 60_000;
  const sendLoc = async (seq: number, lat: number) => {
    courier.send({ type: 'loc', seq, ts: t0 + seq * 30_000, lat, lng: PICKUP.lng, acc: 5 });
    t.same((await courier.nextOf('ack', (f) => f.seq === seq)).rejected, []);
  };
  await sendLoc(1, PICKUP.lat);

  const plain = await WsClient.connect(`${wsUrl}/v1/console`, token('dispatcher', 'd1'));
  const compact = await WsClient.connect(`${wsUrl}/v1/console?delta=1`, token('dispatcher', 'd1'));
  t.teardown(() => [plain, compact].forEach((ws) => ws.close()));
  const first = (await compact.nextOf('state')) as State;
  t.same([first.couriers.length, first.orders.length], [1, 1], 'a full state first');
  const quiet = await compact.nextOf('delta');
  t.match(quiet, { couriers: { upsert: [], remove: [] }, orders: { upsert: [], remove: [] }, kpis: {}, cells: [] }, 'nothing changed: empty lists (ages are the client’s to count)');

  await sendLoc(2, PICKUP.lat + 0.001);
  const moved = await compact.nextOf('delta', (f) => (f.couriers as { upsert: Frame[] }).upsert.length > 0, 4000);
  t.match(moved, { couriers: { upsert: [{ courierId: 'c1', lat: PICKUP.lat + 0.001 }], remove: [] }, orders: { upsert: [] } }, 'the moved courier only');
  t.match(await http(baseUrl, 'POST', `/v1/orders/${orderId}/cancel`, token('dispatcher', 'd1'), {}), { status: 200 });
  const gone = await compact.nextOf('delta', (f) => (f.orders as { remove: string[] }).remove.length > 0, 4000);
  t.same((gone.orders as { remove: string[] }).remove, [orderId], 'the cancelled order is removed');
  t.match(await plain.nextOf('state', (f) => (f as State).orders.length === 0, 4000), { type: 'state' }, 'a socket without ?delta=1 keeps getting full states');
});
