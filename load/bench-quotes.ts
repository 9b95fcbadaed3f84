/**
 * Quotes benchmark (not a test):
 *
 *   npm run bench:quotes -- [--seconds 15] [--connections 10] [--couriers 200] [--json out/quotes.json]
 *
 * On a fresh database and Redis key prefix (REDIS_URL / DATABASE_URL, else the local default ports),
 * with the real app listening on loopback in this process and autocannon on a worker thread:
 * - zone lookups, random points → ns per lookup next to a brute-force polygon scan of the same points:
 *   25 round 64-corner districts side by side (most cells interior), and 50 small overlapping squares
 *   (most cells boundary: the index's worst case);
 * - quotes: a zone, `--couriers` couriers streaming a position over the courier socket, 30 open orders;
 *   autocannon POSTs quotes with random pickups and drop-offs inside the zone → quotes/s, p50, p99.
 */
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { reportResult, runStamp } from './bench-result.js';
import { seededRandom } from '../src/domain/random.js';
import { ZoneIndex, zoneContains, zonePolygons } from '../src/domain/zone-index.js';
import type { Zone } from '../src/domain/zones.js';
import { buildTestApp, createTestContext } from '../test/support/index.js';
import { polygonZone, zoneSettingsFixture } from '../test/support/zones.js';
import { http, WsClient } from '../test/integration/orders-helpers.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '15' },
    connections: { type: 'string', default: '10' },
    couriers: { type: 'string', default: '200' },
    json: { type: 'string' },
  },
});
const seconds = Number(args.seconds);
const connections = Number(args.connections);
const courierCount = Number(args.couriers);
const CENTRE = { lat: 52.52, lng: 13.405 };
const random = seededRandom(13);
const around = (d: number) => ({ lat: CENTRE.lat + (random() * 2 - 1) * d, lng: CENTRE.lng + (random() * 2 - 1) * d * 1.6 });

// ---- zone lookups
process.stderr.write('zone lookups…\n');
const settings = zoneSettingsFixture();
const zones: Zone[] = [];
for (let i = 0; i < 50; i++) {
  const c = around(0.2);
  zones.push({ id: `z${i}`, geometry: polygonZone(c.lat, c.lng, 0.01 + random() * 0.04), settings: { ...settings, priority: i % 3 }, updatedAt: 0 });
}
let t0 = performance.now();
const index = new ZoneIndex(zones);
const buildMs = performance.now() - t0;
const points = Array.from({ length: 200_000 }, () => around(0.25));
let hits = 0;
t0 = performance.now();
for (const p of points) if (index.find(p)) hits++;
const lookupNs = ((performance.now() - t0) * 1e6) / points.length;
const polys = zones.map((z) => ({ z, polys: zonePolygons(z) }));
const sample = points.slice(0, 20_000);
t0 = performance.now();
for (const p of sample) polys.some((z) => zoneContains(z.polys, p));
const bruteNs = ((performance.now() - t0) * 1e6) / sample.length;

/** Districts: a 5 × 5 grid of 64-corner round zones, 3 km across, side by side (most cells interior). */
function circle(lat: number, lng: number, rKm: number, corners: number): [number, number][] {
  const ring: [number, number][] = [];
  for (let i = 0; i < corners; i++) {
    const a = (i / corners) * 2 * Math.PI;
    ring.push([lng + (rKm / (111.32 * Math.cos((lat * Math.PI) / 180))) * Math.cos(a), lat + (rKm / 111.32) * Math.sin(a)]);
  }
  ring.push(ring[0]);
  return ring;
}
const districts: Zone[] = [];
for (let i = 0; i < 5; i++) {
  for (let j = 0; j < 5; j++) {
    const geometry = { type: 'Polygon' as const, coordinates: [circle(CENTRE.lat + (i - 2) * 0.027, CENTRE.lng + (j - 2) * 0.044, 1.5, 64)] };
    districts.push({ id: `d${i}${j}`, geometry, settings, updatedAt: 0 });
  }
}
const districtIndex = new ZoneIndex(districts);
const districtPoints = Array.from({ length: 200_000 }, () => around(0.06));
t0 = performance.now();
let districtHits = 0;
for (const p of districtPoints) if (districtIndex.find(p)) districtHits++;
const districtNs = ((performance.now() - t0) * 1e6) / districtPoints.length;
const districtPolys = districts.map((z) => zonePolygons(z));
t0 = performance.now();
for (const p of districtPoints.slice(0, 20_000)) districtPolys.some((polys) => zoneContains(polys, p));
const districtBruteNs = ((performance.now() - t0) * 1e6) / 20_000;

// ---- quotes over HTTP
const ctx = await createTestContext(undefined, { WEBHOOK_SENDER: 'off', LOG_LEVEL: 'warn', RATE_LIMIT_PER_MIN: '0' /* one store floods on purpose */ });
const node = await buildTestApp(ctx);
const store = node.token('store', 'bench-store');
const zoneRes = await http(node.baseUrl, 'PUT', '/v1/zones/city', node.token('admin', 'bench'), { geometry: polygonZone(CENTRE.lat, CENTRE.lng, 0.1), settings });
if (zoneRes.status !== 201) throw new Error(`zone not created: ${JSON.stringify(zoneRes.body)}`);
process.stderr.write(`${courierCount} couriers…\n`);
const sockets: WsClient[] = [];
for (let i = 0; i < courierCount; i++) {
  const ws = await WsClient.connect(`${node.wsUrl}/v1/courier`, node.token('courier', `bc${i}`));
  const p = around(0.06);
  ws.send({ type: 'loc', seq: 1, ts: Date.now(), lat: p.lat, lng: p.lng });
  await ws.nextOf('ack');
  sockets.push(ws);
}
for (let i = 0; i < 30; i++) {
  const r = await http(node.baseUrl, 'POST', '/v1/orders', store, { externalId: `open-${i}`, pickup: around(0.05), dropoff: around(0.05), items: 1, option: 'express' });
  if (r.status !== 201) throw new Error(`order not placed: ${JSON.stringify(r.body)}`);
}
await node.app.quotes.supply.refresh();

process.stderr.write(`quotes: ${seconds} s, ${connections} connections…\n`);
const r = await autocannon({
  url: `${node.baseUrl}/v1/quotes`,
  method: 'POST',
  connections,
  duration: seconds,
  headers: { authorization: `Bearer ${store}`, 'content-type': 'application/json' },
  // the load generator runs on a worker thread so it does not share the service's event loop
  workers: 1,
  requests: Array.from({ length: 500 }, () => ({ body: JSON.stringify({ pickup: around(0.05), dropoff: around(0.05), items: 1 }) })),
});
const check = await http(node.baseUrl, 'POST', '/v1/quotes', store, { pickup: around(0.05), dropoff: around(0.05), items: 1 });
for (const ws of sockets) ws.close();

const result = {
  ...runStamp(),
  district_index: { zones: districts.length, cells: districtIndex.size(), lookups: districtPoints.length, hits: districtHits, lookup_ns: Math.round(districtNs), brute_force_ns: Math.round(districtBruteNs) },
  zone_index: { zones: zones.length, build_ms: Number(buildMs.toFixed(1)), cells: index.size(), lookups: points.length, hits, lookup_ns: Math.round(lookupNs), brute_force_ns: Math.round(bruteNs) },
  quotes: {
    seconds,
    connections,
    couriers: courierCount,
    requests_per_s: r.requests.average,
    p50_ms: r.latency.p50,
    p99_ms: r.latency.p99,
    max_ms: r.latency.max,
    non_2xx: r.non2xx,
    errors: r.errors,
    total: r.requests.total,
    sample_options: (check.body.options as unknown[]).length,
  },
};
await reportResult(result, args.json);
await ctx.cleanup();
process.exit(0);
