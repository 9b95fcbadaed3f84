/**
 * Three dispatchd processes on one Redis Cluster and one Postgres database, no load balancer: the couriers
 * on node A, the store on node B, the customer's tracking socket on node C, DISPATCH=on in all three (the
 * zone lease decides who runs a round).
 *
 * 1. One order placed on B is dispatched (by whichever node takes the lease), offered to a courier on A,
 *    accepted, picked up and delivered; the store's socket on B and the customer's socket on C see every
 *    change once and in order (as Postgres recorded it), and C gets the courier's positions.
 * 2. With orders being dispatched, the node holding the zone lease is frozen mid-round (SIGSTOP, then the
 *    lease is checked still to be its own) and killed with SIGKILL. Its lease outlives it for the rest of
 *    its TTL, then another node takes the zone; every order ends up accepted exactly once (Postgres offers,
 *    assignments, events; Redis open pool), and every order's history is gapless.
 *
 * Runs on the cluster `npm run test:cluster` starts (REDIS_URL redis+cluster://…), else on a private
 * 3-master cluster of its own (`npm test`): never on a single Redis.
 */
import t from 'tap';
import { hostname } from 'node:os';
import WebSocket from 'ws';
import { dispatchLeaseTtlMs } from '../../src/runtime/dispatcher.js';
import { dispatchZoneOf } from '../../src/runtime/dispatch-zones.js';
import { redisKeys } from '../../src/store/redis/keys.js';
import { OpenOrderPool } from '../../src/store/redis/open-orders.js';
import { leaseHolderOf } from '../../src/store/redis/zone-lease.js';
import { http, PICKUP, DROPOFF, WsClient, type Frame } from '../integration/orders-helpers.js';
import { clusterEnv, freePort, sleep, startDispatchd, until, type Service } from './harness.js';

t.setTimeout(240_000);

const INTERVAL_MS = 500;
const BUDGET_MS = 200;
const NODE_ENV = {
  DISPATCH: 'on',
  DISPATCH_INTERVAL_MS: String(INTERVAL_MS),
  DISPATCH_DEBOUNCE_MS: '200',
  DISPATCH_ROUND_BUDGET_MS: String(BUDGET_MS),
  OFFER_TTL_MS: '15000',
  WEBHOOK_SENDER: 'off',
};
const LEASE_TTL_MS = dispatchLeaseTtlMs(BUDGET_MS);
/** Slack for a loaded 2-core machine: the next interval tick after the lease expired, its round's start. */
const TAKEOVER_MARGIN_MS = INTERVAL_MS + 4000;
const STORE = 'mn-store';
const COURIERS = 6;

interface Node extends Service {
  name: 'A' | 'B' | 'C';
  holder: string;
  dead: boolean;
}

/**
 * A courier app: on its home node, reconnecting to the next live node when its socket closes; it reports
 * a position every second, accepts every offer (again when an open offer is re-sent after a reconnect),
 * and keeps every frame so the test can wait for one.
 */
class Courier {
  ws: WebSocket | null = null;
  readonly frames: Frame[] = [];
  /** Orders of the offers the service confirmed accepted. */
  readonly accepted = new Set<string>();
  readonly acceptedOffers = new Set<string>();
  private seq = 0;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  connectedTo: Node | null = null;
  private readonly waiters: { pred: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];

  constructor(
    readonly id: string,
    private readonly nodes: Node[],
    private readonly home: number,
    private readonly token: string,
    readonly at: { lat: number; lng: number },
  ) {}

  start(): void {
    this.connect();
    this.timer = setInterval(() => this.sendLoc(), 1000);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.ws?.close();
  }

  private connect(): void {
    if (this.stopped) return;
    const live = [...this.nodes.slice(this.home), ...this.nodes.slice(0, this.home)].filter((n) => !n.dead);
    const node = live[0];
    const ws = new WebSocket(`${node.wsUrl}/v1/courier`, { headers: { authorization: `Bearer ${this.token}` } });
    ws.on('open', () => {
      this.ws = ws;
      this.connectedTo = node;
      this.sendLoc();
    });
    ws.on('message', (data) => this.onFrame(JSON.parse(data.toString()) as Frame));
    ws.on('error', () => {});
    ws.on('close', () => {
      if (this.ws === ws) this.ws = null;
      this.connectedTo = null;
      if (!this.stopped) setTimeout(() => this.connect(), 200);
    });
  }

  private sendLoc(): void {
    if (this.ws?.readyState !== WebSocket.OPEN) return;
    this.ws.send(JSON.stringify({ type: 'loc', seq: ++this.seq, ts: Date.now(), lat: this.at.lat, lng: this.at.lng, acc: 5 }));
  }

  send(frame: object): void {
    this.ws?.send(JSON.stringify(frame));
  }

  private onFrame(frame: Frame): void {
    this.frames.push(frame);
    if (frame.type === 'offer' && !this.acceptedOffers.has(frame.offerId as string)) this.send({ type: 'offer.accept', offerId: frame.offerId });
    if (frame.type === 'offer.accepted') {
      this.acceptedOffers.add(frame.offerId as string);
      for (const id of frame.orderIds as string[]) this.accepted.add(id);
    }
    for (const w of [...this.waiters]) {
      if (w.pred(frame)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(frame);
      }
    }
  }

  /** The next frame (from now on) matching `pred`. */
  next(pred: (f: Frame) => boolean, timeoutMs = 15_000): Promise<Frame> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`courier ${this.id}: no matching frame within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        pred,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
      });
    });
  }

  /** Sends a task status and waits for its ack. */
  async status(orderId: string, status: string): Promise<Frame> {
    const ack = this.next((f) => (f.type === 'status.ack' || (f.type === 'error' && f.frame === 'status')) && f.orderId === orderId);
    this.send({ type: 'status', orderId, status });
    const frame = await ack;
    if (frame.type !== 'status.ack') throw new Error(`${status} of ${orderId} refused: ${JSON.stringify(frame)}`);
    return frame;
  }
}

/** Every node's last log lines, for a failure message. */
function lastLogs(nodes: Node[], n = 15): string {
  return nodes
    .map((node) => `--- node ${node.name} (pid ${node.pid}${node.dead ? ', killed' : ''}):\n${node.logs.slice(-n).map((l) => JSON.stringify(l)).join('\n')}\n${node.stderr().slice(-1000)}`)
    .join('\n');
}

t.test('3 nodes on a Redis Cluster: order delivered across nodes; kill -9 of the lease holder mid-round', async (t) => {
  const env = await clusterEnv(t);
  const { ctx } = env;
  t.comment(`redis: ${env.ownCluster ? 'private 3-master cluster' : 'the run’s cluster'} ${env.redisUrl}`);
  // one after the other: three cold starts at once on a busy 2-core machine overrun fastify's plugin timeout
  const started: Service[] = [];
  for (let i = 0; i < 3; i++) started.push(await startDispatchd(env, await freePort(), NODE_ENV));
  const nodes: Node[] = started.map((svc, i) => ({ ...svc, name: (['A', 'B', 'C'] as const)[i], holder: `${hostname()}-${svc.pid}`, dead: false }));
  const [A, B, C] = nodes;
  const live = () => nodes.filter((n) => !n.dead);
  let failed = false;
  t.teardown(() => {
    if (failed || !t.passing()) t.comment(`last log lines:\n${lastLogs(nodes)}`);
  });

  const zone = dispatchZoneOf(PICKUP, ctx.config.dispatchZoneResolution, ctx.config.h3Resolution);
  const leaseKey = redisKeys.dispatchLease(zone);
  const storeToken = env.token('store', STORE);
  const dispatcherToken = env.token('dispatcher', 'mn-d');
  const couriers = Array.from(
    { length: COURIERS },
    // couriers 200–450 m north of the pickup: all in the zone, near enough for every order, outside the
    // pickup's geofence (no automatic arrival: the lifecycle is the one the courier reports)
    (_, i) => new Courier(`mn-c${i}`, nodes, 0, env.token('courier', `mn-c${i}`), { lat: PICKUP.lat + (200 + i * 50) / 111_320, lng: PICKUP.lng }),
  );
  t.teardown(() => couriers.forEach((c) => c.stop()));
  couriers.forEach((c) => c.start());
  await until('every courier connected to node A', () => couriers.every((c) => c.connectedTo === A), 20_000);

  // the store's socket on B: every change of its orders, from whichever node made it
  const storeWs = await WsClient.connect(`${B.wsUrl}/v1/store`, storeToken);
  t.teardown(() => storeWs.close());

  let placed = 0;
  /** Places an order through the first live node from B on (the store talks to B while B lives). */
  const place = async (): Promise<string> => {
    const ext = `mn-${++placed}`;
    const body = { externalId: ext, pickup: PICKUP, dropoff: DROPOFF, items: 1, option: 'express' };
    for (const node of [B, C, A].filter((n) => !n.dead)) {
      try {
        const res = await http(node.address, 'POST', '/v1/orders', storeToken, body);
        if (res.status === 201 || res.status === 200) return res.body.id as string;
        throw new Error(`order ${ext}: ${res.status} ${JSON.stringify(res.body)}`);
      } catch (err) {
        if (node === [B, C, A].filter((n) => !n.dead).at(-1)) throw err;
      }
    }
    throw new Error('no live node');
  };
  const events = async (ids: string[]) =>
    (
      await ctx.db.query<{ order_id: string; version: number; type: string }>(
        'SELECT order_id, version, type FROM order_events WHERE order_id = ANY($1::uuid[]) ORDER BY order_id, version',
        [ids],
      )
    ).rows;

  try {
    // --- 1. one order across the three nodes ---
    const id = await place();
    const link = await http(B.address, 'POST', `/v1/orders/${id}/tracking-link`, storeToken);
    t.equal(link.status, 201, 'tracking link from B');
    const customer = await WsClient.connect(`${C.wsUrl}${link.body.url as string}`);
    t.teardown(() => customer.close());
    const snapshot = await customer.nextOf('snapshot', () => true, 10_000);
    t.equal(snapshot.orderId, id, 'the customer on C gets the order’s snapshot');

    await until('the order offered to a courier and accepted', () => couriers.some((c) => c.accepted.has(id)), 30_000);
    const courier = couriers.find((c) => c.accepted.has(id))!;
    t.equal(courier.connectedTo, A, `accepted by ${courier.id} on node A`);
    // the courier app reports its position every second (to A): the customer on C follows it
    const position = await customer.nextOf('position', (f) => f.orderId === id, 10_000);
    t.match(position, { orderId: id, status: 'assigned' }, 'the courier’s position, sent to A, reached the customer on C');
    for (const s of ['arrived_pickup', 'picked_up', 'arrived_dropoff', 'delivered']) await courier.status(id, s);
    await customer.nextOf('order.status', (f) => f.status === 'delivered', 10_000);

    const history = await events([id]);
    t.same(
      history.map((e) => e.version),
      history.map((_, i) => i + 1),
      'order_events: versions 1..n, no gap',
    );
    t.same(
      history.map((e) => e.type),
      ['placed', 'offered', 'accepted', 'arrived_pickup', 'picked_up', 'arrived_dropoff', 'delivered'],
      'the lifecycle in Postgres: placed → offered → accepted → … → delivered',
    );
    await until('the store socket saw the delivery', () => storeWs.frames.some((f) => f.type === 'order.status' && f.orderId === id && f.status === 'delivered'), 10_000);
    const storeSaw = storeWs.frames.filter((f) => f.type === 'order.status' && f.orderId === id);
    t.same(
      storeSaw.map((f) => [f.version, f.event]),
      history.map((e) => [e.version, e.type]),
      'the store’s socket on B saw every event once, in order',
    );
    const customerSaw = customer.frames.filter((f) => f.type === 'order.status');
    t.same(
      customerSaw.map((f) => f.version),
      history.filter((e) => e.version > (snapshot.version as number)).map((e) => e.version),
      'the customer’s socket on C saw every change after its snapshot once, in order',
    );

    // --- 2. kill -9 of the node holding the zone lease, mid-round ---
    const ids: string[] = [];
    let kill: { node: Node; at: number; pttl: number; open: number } | null = null;
    let hunting = true;
    const hunter = (async () => {
      while (hunting && !kill) {
        const token = await ctx.redis.get(leaseKey);
        const holder = leaseHolderOf(token);
        const node = live().find((n) => n.holder === holder);
        if (node) {
          // freeze it, then make sure the lease is still its own: it is stopped inside a round
          process.kill(node.pid, 'SIGSTOP');
          await sleep(100);
          const still = await ctx.redis.get(leaseKey);
          if (still === token) {
            const pttl = await ctx.redis.pttl(leaseKey);
            const { rows } = await ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM orders WHERE id = ANY($1::uuid[]) AND status IN ('placed', 'ready', 'offered')`, [ids]);
            node.child.kill('SIGKILL');
            const at = Date.now();
            node.dead = true;
            kill = { node, at, pttl, open: rows[0].n };
            await node.exited;
            return;
          }
          process.kill(node.pid, 'SIGCONT');
        }
        await sleep(5);
      }
    })();
    // orders keep coming (a few at once, then one every 400 ms) until the hunter caught a round
    for (let i = 0; i < 4; i++) ids.push(await place());
    const deadline = Date.now() + 60_000;
    while (!kill && ids.length < 40 && Date.now() < deadline) {
      await sleep(400);
      if (!kill) ids.push(await place());
    }
    hunting = false;
    await hunter;
    if (!kill) throw new Error(`no round of the zone caught holding the lease (${ids.length} orders placed)`);
    const k = kill as { node: Node; at: number; pttl: number; open: number };
    t.comment(`killed node ${k.node.name} (pid ${k.node.pid}) mid-round: lease ${k.pttl} ms left of ${LEASE_TTL_MS}, ${k.open} of ${ids.length} orders not yet accepted`);
    t.ok(k.pttl > 0, 'the killed node still held the lease');
    // more orders for the zone: whatever the dead node had committed, a round is needed now
    for (let i = 0; i < 2; i++) ids.push(await place());

    // another node takes the zone once the dead node's lease has run out
    let takeover: { ms: number; node: Node } | null = null;
    await until(
      'another node takes the zone',
      async () => {
        const holder = leaseHolderOf(await ctx.redis.get(leaseKey));
        const node = live().find((n) => n.holder === holder);
        if (node) takeover = { ms: Date.now() - k.at, node };
        return node !== undefined;
      },
      LEASE_TTL_MS + TAKEOVER_MARGIN_MS + 5000,
      5,
    );
    const tk = takeover! as { ms: number; node: Node };
    t.comment(`takeover: node ${tk.node.name} holds the zone ${tk.ms} ms after the kill (lease had ${k.pttl} ms left; TTL ${LEASE_TTL_MS} ms)`);
    t.ok(tk.ms >= k.pttl - 50, `no node took the zone while the dead node's lease lived (${tk.ms} ms ≥ ${k.pttl} ms)`);
    t.ok(tk.ms <= k.pttl + TAKEOVER_MARGIN_MS, `taken within the lease's remaining TTL + ${TAKEOVER_MARGIN_MS} ms (${tk.ms} ms)`);
    t.ok(tk.ms <= LEASE_TTL_MS + TAKEOVER_MARGIN_MS, `and within the lease TTL (${LEASE_TTL_MS} ms) + margin`);

    // every order accepted by a courier (then maybe arrived at the pickup by the geofence: the couriers wait there)
    await until(
      'every order accepted',
      async () => {
        const { rows } = await ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM orders WHERE id = ANY($1::uuid[]) AND status IN ('assigned', 'at_pickup')`, [ids]);
        return rows[0].n === ids.length;
      },
      60_000,
      200,
    );
    const accepted = await ctx.db.query<{ order_id: string; n: number }>(
      `SELECT o.id AS order_id, count(f.id)::int AS n FROM orders o LEFT JOIN offers f ON f.status = 'accepted' AND o.id = ANY(f.order_ids)
        WHERE o.id = ANY($1::uuid[]) GROUP BY o.id`,
      [ids],
    );
    t.same(
      accepted.rows.filter((r) => r.n !== 1),
      [],
      `each of the ${ids.length} orders is in exactly one accepted offer`,
    );
    const assignments = await ctx.db.query<{ order_id: string; n: number; couriers: number }>(
      `SELECT order_id, count(*)::int AS n, count(DISTINCT courier_id)::int AS couriers FROM assignments WHERE order_id = ANY($1::uuid[]) GROUP BY order_id`,
      [ids],
    );
    t.equal(assignments.rows.length, ids.length, 'every order has an assignment');
    t.same(
      assignments.rows.filter((r) => r.n !== 1),
      [],
      'no order assigned twice',
    );
    const byCourier = new Map<string, string>();
    const doubly: string[] = [];
    for (const c of couriers) for (const o of c.accepted) (byCourier.has(o) ? doubly.push(o) : byCourier.set(o, c.id));
    t.same(doubly, [], 'no order confirmed accepted to two couriers (what the courier apps were told)');
    const acceptedEvents = await ctx.db.query<{ order_id: string; n: number }>(
      `SELECT order_id, count(*)::int AS n FROM order_events WHERE type = 'accepted' AND order_id = ANY($1::uuid[]) GROUP BY order_id HAVING count(*) <> 1`,
      [ids],
    );
    t.same(acceptedEvents.rows, [], 'one accepted event per order');
    const openOffers = await ctx.db.query<{ courier_id: string; n: number }>(
      `SELECT courier_id, count(*)::int AS n FROM offers WHERE status = 'open' GROUP BY courier_id HAVING count(*) > 1`,
    );
    t.same(openOffers.rows, [], 'no courier with two open offers');

    // Redis agrees: no accepted order left in its zone's open pool (a round would offer it again)
    const zones = await ctx.db.query<{ zone: string }>('SELECT DISTINCT zone FROM orders WHERE id = ANY($1::uuid[])', [ids]);
    const pool = new OpenOrderPool(ctx.redis);
    const stillOpen = (await Promise.all(zones.rows.map((z) => pool.ids(z.zone)))).flat().filter((o) => ids.includes(o));
    t.same(stillOpen, [], 'no accepted order in the Redis open pool');

    // no lost events: every order's history gapless from placed to the row's current version
    const all = await events(ids);
    const perOrder = new Map<string, { version: number; type: string }[]>();
    for (const e of all) perOrder.set(e.order_id, [...(perOrder.get(e.order_id) ?? []), e]);
    const rowVersions = new Map(
      (await ctx.db.query<{ id: string; version: number }>('SELECT id, version FROM orders WHERE id = ANY($1::uuid[])', [ids])).rows.map((r) => [r.id, r.version]),
    );
    const gaps = ids.filter((o) => {
      const h = perOrder.get(o) ?? [];
      return h[0]?.type !== 'placed' || h.some((e, i) => e.version !== i + 1) || h.length !== rowVersions.get(o);
    });
    t.same(gaps, [], 'every order: versions 1..n without a gap, placed first, n = the order row’s version');
    // the store's view through the API of a live node equals Postgres
    const viewer = live()[0];
    const sample = ids.slice(0, 3);
    for (const o of sample) {
      const res = await http(viewer.address, 'GET', `/v1/orders/${o}/events`, dispatcherToken);
      t.same(
        (res.body.events as { version: number; type: string }[]).map((e) => [e.version, e.type]),
        perOrder.get(o)!.map((e) => [e.version, e.type]),
        `the events API on node ${viewer.name} shows ${o}'s history as stored`,
      );
    }
    if (k.node !== B) {
      // the store's socket lived through the kill: it saw each of its orders' changes exactly once
      const seen = storeWs.frames.filter((f) => f.type === 'order.status' && ids.includes(f.orderId as string)).map((f) => `${String(f.orderId)}@${String(f.version)}`);
      const stored = all.map((e) => `${e.order_id}@${e.version}`);
      t.same([...seen].sort(), [...stored].sort(), 'the store socket on B saw every event of the orders exactly once');
    }
  } catch (err) {
    failed = true;
    throw err;
  }
});
