/**
 * Orders benchmark (not a test):
 *
 *   npm run bench:orders -- [--seconds 10] [--connections 10] [--points 500] [--json out/orders.json]
 *
 * On a fresh database and Redis key prefix (REDIS_URL / DATABASE_URL, else the local default ports),
 * in this process with the real app listening on loopback:
 * - order placement: autocannon POSTs new orders (each one row + event + outbox in one transaction)
 *   and then replays of one order (the idempotent path), requests/s and latency percentiles;
 * - tracking fan-out: a courier on node A streams points of an assigned order, a customer watches on
 *   node B (two apps sharing Redis and Postgres); latency from sending the point to receiving the
 *   `position` frame, so it includes ingest, Redis, the ETA and the cross-node pub/sub hop.
 */
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { reportResult, runStamp } from './bench-result.js';
import { buildTestApp, createTestContext } from '../test/support/index.js';
import { http, orderBody, PICKUP, WsClient } from '../test/integration/orders-helpers.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '10' },
    points: { type: 'string', default: '500' },
    json: { type: 'string' },
  },
});
const seconds = Number(args.seconds);
const connections = Number(args.connections);
const points = Number(args.points);

const ctx = await createTestContext(undefined, { WEBHOOK_SENDER: 'off', LOG_LEVEL: 'warn', RATE_LIMIT_PER_MIN: '0' /* one store floods on purpose */ });
const nodeA = await buildTestApp(ctx);
const nodeB = await buildTestApp(ctx);
const storeToken = nodeA.token('store', 'bench-store');

async function cannon(title: string, opts: Partial<autocannon.Options>) {
  process.stderr.write(`${title}: ${seconds} s, ${connections} connections…\n`);
  const r = await autocannon({
    url: `${nodeA.baseUrl}/v1/orders`,
    method: 'POST',
    connections,
    duration: seconds,
    headers: { authorization: `Bearer ${storeToken}`, 'content-type': 'application/json' },
    ...opts,
  });
  return { requests_per_s: r.requests.average, p50_ms: r.latency.p50, p99_ms: r.latency.p99, non_2xx: r.non2xx, total: r.requests.total };
}

let n = 0;
const place = await cannon('placement (new orders)', {
  requests: [{ setupRequest: (req) => ({ ...req, body: JSON.stringify(orderBody(`bench-${n++}`)) }) }],
});
const replay = await cannon('placement (idempotent replays)', { body: JSON.stringify(orderBody('bench-replay')) });
const stored = (await ctx.db.query('SELECT (SELECT count(*) FROM orders)::int AS orders, (SELECT count(*) FROM order_events)::int AS events')).rows[0];

process.stderr.write(`tracking fan-out: ${points} points…\n`);
const id = (await http(nodeA.baseUrl, 'POST', '/v1/orders', storeToken, orderBody('bench-track'))).body.id as string;
const offer = await nodeA.app.orders.offers.offer('bench-courier', [id], { role: 'dispatcher', id: 'bench' });
await nodeA.app.orders.offers.accept('bench-courier', offer.offerId);
const courier = await WsClient.connect(`${nodeA.wsUrl}/v1/courier`, nodeA.token('courier', 'bench-courier'));
await courier.nextOf('task', (f) => (f.orders as unknown[]).length === 1);
const link = (await http(nodeA.baseUrl, 'POST', `/v1/orders/${id}/tracking-link`, storeToken)).body.url as string;
const customer = await WsClient.connect(`${nodeB.wsUrl}${link}`);
await customer.nextOf('snapshot');
const latencies: number[] = [];
const t0 = Date.now() - 3_600_000;
for (let i = 1; i <= points; i++) {
  const start = performance.now();
  courier.send({ type: 'loc', seq: i, ts: t0 + i * 5000, lat: PICKUP.lat - 0.01 + i * 0.00001, lng: PICKUP.lng, acc: 5 });
  await customer.nextOf('position');
  latencies.push(performance.now() - start);
}
courier.close();
customer.close();
latencies.sort((a, b) => a - b);
const q = (p: number) => Number(latencies[Math.floor(p * (latencies.length - 1))]!.toFixed(2));

const result = {
  ...runStamp(),
  seconds,
  connections,
  placement_new: place,
  placement_replay: replay,
  stored_orders: stored.orders,
  stored_events: stored.events,
  tracking_points: latencies.length,
  tracking_p50_ms: q(0.5),
  tracking_p99_ms: q(0.99),
  tracking_max_ms: q(1),
};
await reportResult(result, args.json);
await ctx.cleanup();
process.exit(0);
