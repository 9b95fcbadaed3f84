import t from 'tap';
import { createTestContext, buildTestApp } from '../support/index.js';
import { CourierClient } from './ingest-helpers.js';
import { LocationIndex, type CourierUpdate } from '../../src/store/redis/location-index.js';
import { distanceM } from '../../src/domain/geo.js';

const STALE_MS = 60_000;
// Idle timeout generous enough that a live client on a loaded machine always answers a ping in time.
const ctx = await createTestContext(t, { STALE_AFTER_MS: String(STALE_MS), WS_IDLE_TIMEOUT_MS: '2000', WS_PING_INTERVAL_MS: '100' });
const { baseUrl, wsUrl, token } = await buildTestApp(ctx);
const index = new LocationIndex(ctx.redis, ctx.config.h3Resolution);

let seed = 42;
const rand = () => (seed = (seed * 16807) % 2147483647) / 2147483647;

interface Courier {
  id: string;
  lat: number;
  lng: number;
  serverTs: number;
}

async function nearby(query: string, role = 'dispatcher') {
  const res = await fetch(`${baseUrl}/v1/couriers/nearby?${query}`, { headers: { authorization: `Bearer ${token(role as 'dispatcher', 'd1')}` } });
  return { status: res.status, body: (await res.json()) as { couriers: { courierId: string; distanceM: number }[]; code?: string } };
}

/** The reference: every courier, exact distance, stale ones out, nearest first. */
function bruteForce(all: Courier[], lat: number, lng: number, radiusM: number, limit: number, now: number): string[] {
  return all
    .filter((c) => now - c.serverTs <= STALE_MS)
    .map((c) => ({ id: c.id, d: distanceM({ lat, lng }, c) }))
    .filter((c) => c.d <= radiusM)
    .sort((a, b) => a.d - b.d || (a.id < b.id ? -1 : 1))
    .slice(0, limit)
    .map((c) => c.id);
}

t.test('nearby equals a brute-force scan on randomized couriers and queries', async (t) => {
  const now = Date.now();
  const all: Courier[] = [];
  // Two clusters (dense centre, sparse outskirts) around Paris; 10 % stale.
  for (let i = 0; i < 1500; i++) {
    const spread = i % 3 === 0 ? 0.15 : 0.03;
    all.push({
      id: `n${i}`,
      lat: 48.8566 + (rand() - 0.5) * spread,
      lng: 2.3522 + (rand() - 0.5) * spread * 1.5,
      serverTs: rand() < 0.1 ? now - STALE_MS - 5000 : now,
    });
  }
  const updates: CourierUpdate[] = all.map((c, i) => ({
    courierId: c.id,
    serverTs: c.serverTs,
    maxSeq: i,
    previousCell: null,
    current: { seq: i, ts: c.serverTs, lat: c.lat, lng: c.lng, cell: index.cellOf(c.lat, c.lng) },
  }));
  await index.write(updates, []);

  let compared = 0;
  let nonEmpty = 0;
  for (let q = 0; q < 60; q++) {
    const lat = 48.8566 + (rand() - 0.5) * 0.12;
    const lng = 2.3522 + (rand() - 0.5) * 0.18;
    const radius = Math.round(50 + rand() * (q % 4 === 0 ? 15_000 : 2_500));
    const limit = 1 + Math.floor(rand() * (q % 5 === 0 ? 400 : 25));
    const { status, body } = await nearby(`lat=${lat}&lng=${lng}&radius_m=${radius}&limit=${limit}`);
    t.equal(status, 200);
    const expected = bruteForce(all, lat, lng, radius, limit, Date.now());
    const got = body.couriers.map((c) => c.courierId);
    if (JSON.stringify(got) !== JSON.stringify(expected)) t.same(got, expected, `query ${lat},${lng} r=${radius} limit=${limit}`);
    compared++;
    if (expected.length) nonEmpty++;
    for (let i = 1; i < body.couriers.length; i++) {
      if (body.couriers[i].distanceM < body.couriers[i - 1].distanceM) t.fail('not sorted nearest first');
    }
  }
  t.equal(compared, 60);
  t.ok(nonEmpty > 40, `most queries find couriers (${nonEmpty})`);
});

t.test('a courier silent longer than STALE_AFTER_MS drops out of nearby and reads as stale', async (t) => {
  const now = Date.now();
  await index.write(
    [{ courierId: 'fresh', serverTs: now, maxSeq: 1, previousCell: null, current: { seq: 1, ts: now, lat: -33.86, lng: 151.2, cell: index.cellOf(-33.86, 151.2) } }],
    [],
  );
  await index.write(
    [{ courierId: 'silent', serverTs: now - STALE_MS - 1, maxSeq: 1, previousCell: null, current: { seq: 1, ts: now, lat: -33.8601, lng: 151.2, cell: index.cellOf(-33.8601, 151.2) } }],
    [],
  );
  const { body } = await nearby('lat=-33.86&lng=151.2&radius_m=500&limit=10');
  t.same(body.couriers.map((c) => c.courierId), ['fresh']);
  const res = await fetch(`${baseUrl}/v1/couriers/silent`, { headers: { authorization: `Bearer ${token('admin', 'a1')}` } });
  t.match(await res.json(), { courierId: 'silent', stale: true });
});

t.test('bad query parameters get 400 with a specific code; roles are enforced', async (t) => {
  const cases: [string, string][] = [
    ['lng=2&radius_m=100', 'invalid_lat'],
    ['lat=91&lng=2', 'invalid_lat'],
    ['lat=abc&lng=2', 'invalid_lat'],
    ['lat=48&lng=200', 'invalid_lng'],
    ['lat=48&lng=2&radius_m=0', 'invalid_radius'],
    ['lat=48&lng=2&radius_m=999999', 'invalid_radius'],
    ['lat=48&lng=2&limit=2.5', 'invalid_limit'],
    ['lat=48&lng=2&limit=0', 'invalid_limit'],
    ['lat=48&lat=49&lng=2', 'invalid_lat'],
  ];
  for (const [query, code] of cases) {
    const { status, body } = await nearby(query);
    t.equal(status, 400, query);
    t.equal(body.code, code, query);
  }
  t.equal((await nearby('lat=48&lng=2', 'courier')).status, 403, 'couriers may not search for other couriers');
  const unknown = await fetch(`${baseUrl}/v1/couriers/nobody`, { headers: { authorization: `Bearer ${token('admin', 'a1')}` } });
  t.equal(unknown.status, 404);
  t.match(await unknown.json(), { code: 'courier_not_found' });
  const other = await fetch(`${baseUrl}/v1/couriers/fresh`, { headers: { authorization: `Bearer ${token('courier', 'someone-else')}` } });
  t.equal(other.status, 403);
  const self = await fetch(`${baseUrl}/v1/couriers/fresh`, { headers: { authorization: `Bearer ${token('courier', 'fresh')}` } });
  t.equal(self.status, 200, 'a courier may read itself');
});

t.test('heartbeat: a socket that answers pings stays open; one that does not is closed after the idle timeout', async (t) => {
  const alive = await CourierClient.connect(wsUrl, token('courier', 'hb-alive'));
  const dead = await CourierClient.connect(wsUrl, token('courier', 'hb-dead'), { autoPong: false });
  let pings = 0;
  alive.ws.on('ping', () => pings++);
  const closed = await dead.closed;
  t.equal(closed.code, 4000);
  t.equal(closed.reason, 'idle timeout');
  t.ok(pings >= 2, `the live socket was pinged (${pings})`);
  t.equal(alive.ws.readyState, alive.ws.OPEN, 'and is still open');
  alive.close();
});

t.test('cell sets lose stale, expired and misplaced members when nearby meets them; a stale courier returns with its next point', async (t) => {
  const now = Date.now();
  const lat = 35.68;
  const lng = 139.76;
  const cell = index.cellOf(lat, lng);
  const setKey = `loc:cell:{${(await import('../../src/domain/geo.js')).zoneOf(cell)}}:${cell}`;
  const write = (id: string, serverTs: number) =>
    index.write([{ courierId: id, serverTs, maxSeq: 1, previousCell: null, current: { seq: 1, ts: serverTs, lat, lng, cell } }], []);
  await write('tk-fresh', now);
  await write('tk-stale', now - STALE_MS - 1000);
  await write('tk-expired', now);
  await ctx.redis.del('loc:courier:tk-expired');
  await ctx.redis.sadd(setKey, 'tk-ghost');
  await ctx.redis.hset('loc:courier:tk-ghost', 'lat', 1, 'lng', 1, 'ts', now, 'sts', now, 'cell', index.cellOf(1, 1), 'seq', 1, 'maxSeq', 1);
  t.same((await ctx.redis.smembers(setKey)).sort(), ['tk-expired', 'tk-fresh', 'tk-ghost', 'tk-stale']);

  const { body } = await nearby(`lat=${lat}&lng=${lng}&radius_m=300&limit=10`);
  t.same(body.couriers.map((c) => c.courierId), ['tk-fresh']);
  t.same(await ctx.redis.smembers(setKey), ['tk-fresh'], 'only the courier that belongs there is left');

  await write('tk-stale', Date.now());
  t.same((await ctx.redis.smembers(setKey)).sort(), ['tk-fresh', 'tk-stale'], 'back with its next point, same cell');
  t.same((await nearby(`lat=${lat}&lng=${lng}&radius_m=300&limit=10`)).body.couriers.map((c) => c.courierId).sort(), ['tk-fresh', 'tk-stale']);
});

t.test('courier hashes expire: TTL at least the stale time, at most the retention, renewed by every point', async (t) => {
  const c = await CourierClient.connect(wsUrl, token('courier', 'ttl-1'));
  t.teardown(() => c.close());
  const now = Date.now();
  // the answer to the point sent next (the socket may push its empty task list first)
  const next = () =>
    new Promise<void>((resolve) => {
      const onMessage = (m: unknown) => {
        if ((JSON.parse(String(m)) as { type?: string }).type === 'task') return;
        c.ws.off('message', onMessage);
        resolve();
      };
      c.ws.on('message', onMessage);
    });
  let got = next();
  c.send({ type: 'loc', seq: 1, ts: now - 1000, lat: 40.4, lng: -3.7 });
  await got;
  const ttl = await ctx.redis.pttl('loc:courier:ttl-1');
  t.ok(ttl >= STALE_MS, `not before the courier is stale (${ttl} ms)`);
  t.ok(ttl <= ctx.config.retentionDays * 86_400_000, 'never longer than the history retention');
  const { cellKey } = await import('../../src/store/redis/location-index.js');
  const setTtl = await ctx.redis.pttl(cellKey(index.cellOf(40.4, -3.7)));
  t.ok(setTtl > 0 && setTtl <= ctx.config.retentionDays * 86_400_000, `the cell set expires too (${setTtl} ms)`);
  await ctx.redis.pexpire('loc:courier:ttl-1', 5000);
  got = next();
  c.send({ type: 'loc', seq: 2, ts: now, lat: 40.4, lng: -3.7 });
  await got;
  t.ok((await ctx.redis.pttl('loc:courier:ttl-1')) > 5000, 'renewed by the next point');
});
