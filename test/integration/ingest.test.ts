import t from 'tap';
import { createTestContext, buildTestApp } from '../support/index.js';
import { CourierClient, storedRows, waitFor } from './ingest-helpers.js';
import { courierKey } from '../../src/store/redis/location-index.js';

const ctx = await createTestContext(t, { WS_MAX_FRAME_BYTES: '4096', HISTORY_FLUSH_MS: '20', STALE_AFTER_MS: '600000' });
const { app, baseUrl, wsUrl, token } = await buildTestApp(ctx);
const LAT = 52.52;
const LNG = 13.405;

async function courierState(id: string) {
  const res = await fetch(`${baseUrl}/v1/couriers/${id}`, { headers: { authorization: `Bearer ${token('dispatcher', 'd1')}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

t.test('accepted points are acked, indexed in Redis and written to history', async (t) => {
  const c = await CourierClient.connect(wsUrl, token('courier', 'c-ok'));
  t.teardown(() => c.close());
  const now = Date.now();
  const ack1 = await c.request({ type: 'loc', seq: 1, ts: now - 3000, lat: LAT, lng: LNG, acc: 5, speed: 3, heading: 90 });
  t.same(ack1, { type: 'ack', seq: 1, rejected: [] });
  const ack2 = await c.request({
    type: 'locs',
    points: [
      { seq: 2, ts: now - 2000, lat: LAT + 0.0001, lng: LNG },
      { seq: 3, ts: now - 1000, lat: LAT + 0.0002, lng: LNG },
    ],
  });
  t.same(ack2, { type: 'ack', seq: 3, rejected: [] });

  const state = await courierState('c-ok');
  t.equal(state.status, 200);
  t.match(state.body, { courierId: 'c-ok', lat: LAT + 0.0002, lng: LNG, ts: now - 1000, seq: 3, stale: false, status: 'free' });
  t.ok(typeof state.body.cell === 'string' && (state.body.cell as string).length === 15, 'an H3 cell');
  const members = await ctx.redis.smembers(`loc:cell:{${(await import('../../src/domain/geo.js')).zoneOf(state.body.cell as string)}}:${state.body.cell}`);
  t.same(members, ['c-ok'], 'the cell set holds the courier');

  const rows = await waitFor(() => storedRows(ctx.db, 'c-ok'), (r) => r.length >= 3);
  t.same(
    rows.map((r) => [r.seq, r.ts]),
    [
      [1, now - 3000],
      [2, now - 2000],
      [3, now - 1000],
    ],
    'every point lands in Postgres once, with its device time to the millisecond',
  );
});

t.test('moving to another cell moves the membership; the old cell no longer lists the courier', async (t) => {
  const c = await CourierClient.connect(wsUrl, token('courier', 'c-move'));
  t.teardown(() => c.close());
  const now = Date.now();
  await c.request({ type: 'loc', seq: 1, ts: now - 60_000, lat: LAT, lng: LNG });
  const first = (await courierState('c-move')).body.cell as string;
  // ~1.1 km north in 60 s: plausible, and certainly another res-9 cell.
  await c.request({ type: 'loc', seq: 2, ts: now, lat: LAT + 0.01, lng: LNG });
  const second = (await courierState('c-move')).body.cell as string;
  t.not(first, second);
  const { zoneOf } = await import('../../src/domain/geo.js');
  t.notOk(await ctx.redis.sismember(`loc:cell:{${zoneOf(first)}}:${first}`, 'c-move'));
  t.same(await ctx.redis.smembers(`loc:cell:{${zoneOf(second)}}:${second}`), ['c-move']);
});

t.test('every rejection reason reaches the client and nothing of it is stored', async (t) => {
  const c = await CourierClient.connect(wsUrl, token('courier', 'c-rej'));
  t.teardown(() => c.close());
  const now = Date.now();
  t.same(await c.request({ type: 'loc', seq: 10, ts: now - 10_000, lat: LAT, lng: LNG }), { type: 'ack', seq: 10, rejected: [] });
  const cases: [string, Record<string, unknown>, number | null][] = [
    ['schema', { type: 'loc', seq: 11, ts: now, lat: 'north', lng: LNG }, 11],
    ['schema', { type: 'loc', ts: now, lat: LAT, lng: LNG }, null],
    ['schema', { type: 'loc', seq: 11, ts: now, lat: LAT, lng: LNG, heading: 400 }, 11],
    ['out_of_range', { type: 'loc', seq: 11, ts: now, lat: 95, lng: LNG }, 11],
    ['out_of_range', { type: 'loc', seq: 11, ts: now, lat: 0, lng: 0 }, 11],
    ['future_timestamp', { type: 'loc', seq: 11, ts: now + 120_000, lat: LAT, lng: LNG }, 11],
    ['too_old', { type: 'loc', seq: 11, ts: now - 31 * 86_400_000, lat: LAT, lng: LNG }, 11],
    ['duplicate_seq', { type: 'loc', seq: 10, ts: now, lat: LAT, lng: LNG }, 10],
    ['implausible_speed', { type: 'loc', seq: 11, ts: now - 9000, lat: LAT + 0.1, lng: LNG }, 11],
    ['poor_accuracy', { type: 'loc', seq: 11, ts: now, lat: LAT, lng: LNG, acc: 500 }, 11],
  ];
  for (const [reason, frame, seq] of cases) {
    const ack = await c.request(frame);
    t.same(ack, { type: 'ack', seq: null, rejected: [{ seq, reason }] }, `${reason}: ${JSON.stringify(frame)}`);
  }
  // A batch mixes accepted and rejected points; the ack names the highest accepted seq.
  const mixed = await c.request({
    type: 'locs',
    points: [{ seq: 12, ts: now - 5000, lat: LAT, lng: LNG }, { seq: 13, ts: now - 4000, lat: 0, lng: 0 }, 'junk'],
  });
  t.equal(mixed.seq, 12);
  t.same(
    new Set((mixed.rejected as unknown[]).map((r) => JSON.stringify(r))),
    new Set([JSON.stringify({ seq: 13, reason: 'out_of_range' }), JSON.stringify({ seq: null, reason: 'schema' })]),
  );

  const rows = await waitFor(() => storedRows(ctx.db, 'c-rej'), (r) => r.length >= 2);
  await new Promise((r) => setTimeout(r, 200));
  t.same((await storedRows(ctx.db, 'c-rej')).map((r) => r.seq), [10, 12], 'only accepted points are in history');
  t.equal(rows.length, 2);
  const hash = await ctx.redis.hgetall(courierKey('c-rej'));
  t.equal(hash.maxSeq, '12');
  t.equal(Number(hash.lat), LAT, 'rejected points never moved the position');
});

t.test('out-of-order points are stored but never move the current position backwards', async (t) => {
  const c = await CourierClient.connect(wsUrl, token('courier', 'c-ooo'));
  t.teardown(() => c.close());
  const now = Date.now();
  await c.request({ type: 'loc', seq: 5, ts: now - 1000, lat: LAT + 0.001, lng: LNG });
  const ack = await c.request({ type: 'loc', seq: 4, ts: now - 5000, lat: LAT, lng: LNG });
  t.same(ack, { type: 'ack', seq: 4, rejected: [] });
  const state = await courierState('c-ooo');
  t.equal(state.body.lat, LAT + 0.001);
  t.equal(state.body.seq, 5);
  const rows = await waitFor(() => storedRows(ctx.db, 'c-ooo'), (r) => r.length >= 2);
  t.same(rows.map((r) => r.seq), [4, 5]);
});

t.test('a reconnecting courier resumes: seqs stored before are duplicates, new ones pass', async (t) => {
  const now = Date.now();
  const a = await CourierClient.connect(wsUrl, token('courier', 'c-re'));
  await a.request({ type: 'loc', seq: 7, ts: now - 2000, lat: LAT, lng: LNG });
  a.close();
  await a.closed;
  const b = await CourierClient.connect(wsUrl, token('courier', 'c-re'));
  t.teardown(() => b.close());
  t.same(await b.request({ type: 'loc', seq: 7, ts: now - 2000, lat: LAT, lng: LNG }), { type: 'ack', seq: null, rejected: [{ seq: 7, reason: 'duplicate_seq' }] });
  t.same(await b.request({ type: 'loc', seq: 8, ts: now - 1000, lat: LAT, lng: LNG }), { type: 'ack', seq: 8, rejected: [] });
});

t.test('malformed frames get an error frame and the socket stays open', async (t) => {
  const c = await CourierClient.connect(wsUrl, token('courier', 'c-bad'));
  const other = await CourierClient.connect(wsUrl, token('courier', 'c-bystander'));
  t.teardown(() => {
    c.close();
    other.close();
  });
  t.match(await c.request('{not json'), { type: 'error', code: 'bad_json' });
  t.match(await c.request('[1,2]'), { type: 'error', code: 'bad_frame' });
  t.match(await c.request({ type: 'teleport' }), { type: 'error', code: 'unknown_type' });
  t.match(await c.request({ type: 'locs', points: 'many' }), { type: 'error', code: 'bad_frame' });
  const now = Date.now();
  t.same(await c.request({ type: 'loc', seq: 1, ts: now, lat: LAT, lng: LNG }), { type: 'ack', seq: 1, rejected: [] }, 'still serving');
  t.same(await other.request({ type: 'loc', seq: 1, ts: now, lat: LAT, lng: LNG }), { type: 'ack', seq: 1, rejected: [] });
});

t.test('replies keep frame order even when errors need no Redis round trip', async (t) => {
  const c = await CourierClient.connect(wsUrl, token('courier', 'c-order'));
  t.teardown(() => c.close());
  const now = Date.now();
  c.send({ type: 'loc', seq: 1, ts: now - 500, lat: LAT, lng: LNG });
  c.send('nope');
  c.send({ type: 'loc', seq: 2, ts: now - 400, lat: LAT, lng: LNG });
  c.send({ type: 'loc', seq: 2, ts: now - 400, lat: LAT, lng: LNG });
  t.match(await c.next(), { type: 'ack', seq: 1 });
  t.match(await c.next(), { type: 'error', code: 'bad_json' });
  t.match(await c.next(), { type: 'ack', seq: 2 });
  t.match(await c.next(), { type: 'ack', seq: null, rejected: [{ seq: 2, reason: 'duplicate_seq' }] });
});

t.test('frames above the size limit are refused with 1009 and nothing is stored', async (t) => {
  const c = await CourierClient.connect(wsUrl, token('courier', 'c-big'));
  // The status is written on connect once the courier's state has loaded: wait for it, or the check below races it.
  t.equal(await waitFor(() => ctx.redis.hget(courierKey('c-big'), 'status'), (v) => v === 'idle'), 'idle');
  const points = Array.from({ length: 100 }, (_, i) => ({ seq: i, ts: Date.now(), lat: LAT, lng: LNG }));
  c.send({ type: 'locs', points });
  const { code } = await c.closed;
  t.equal(code, 1009);
  t.equal(await ctx.redis.exists(courierKey('c-big')), 1, 'only the status written on connect');
  t.equal(await ctx.redis.hget(courierKey('c-big'), 'maxSeq'), null);
});

t.test('only couriers may open the courier socket', async (t) => {
  const c = await CourierClient.connect(wsUrl, token('dispatcher', 'd1'));
  const { code } = await c.closed;
  t.equal(code, 1008);
});

t.test('shutdown in the middle of a stream of frames: every acked point is in Postgres when close returns', async (t) => {
  t.ok(app.drainers.names().indexOf('location-ingest') < app.drainers.names().indexOf('history-sink'), 'ingest drains before the sink');
  const second = await buildTestApp(ctx);
  const c = await CourierClient.connect(second.wsUrl, second.token('courier', 'c-shutdown'));
  const now = Date.now();
  const acked: number[] = [];
  const frames = 200;
  // Frames go out without waiting; the app closes as soon as the first ack is back, with writes still queued.
  for (let i = 0; i < frames; i++) c.send({ type: 'locs', points: [0, 1].map((j) => ({ seq: i * 2 + j, ts: now - 60_000 + (i * 2 + j) * 10, lat: LAT, lng: LNG })) });
  const first = await c.next();
  t.equal(first.type, 'ack');
  acked.push(first.seq as number - 1, first.seq as number);
  const collecting = (async () => {
    for (;;) {
      const ack = await c.next(2000).catch(() => null);
      if (!ack || ack.type !== 'ack' || ack.seq === null) return;
      acked.push((ack.seq as number) - 1, ack.seq as number);
    }
  })();
  await second.close();
  const rows = await storedRows(ctx.db, 'c-shutdown');
  await collecting;
  const stored = new Set(rows.map((r) => r.seq));
  t.same(acked.filter((s) => !stored.has(s)), [], `all ${acked.length} acked points stored, no waiting after close`);
  t.ok(acked.length >= 2);
  t.equal(new Set(rows.map((r) => r.seq)).size, rows.length, 'none twice');
});

/** An app on its own Redis connection (no retries, no offline queue), which a test can cut. */
async function appWithOwnRedis(t: { teardown(fn: () => unknown): void }) {
  const { connectRedis } = await import('../../src/store/redis/client.js');
  const redis = await connectRedis(ctx.redisUrl, { keyPrefix: ctx.keyPrefix, extra: { maxRetriesPerRequest: 0, enableOfflineQueue: false } });
  const own = await buildTestApp(ctx, { redis });
  t.teardown(async () => {
    await own.close();
    redis.disconnect();
  });
  return { redis, own };
}

t.test('Redis unavailable: the client is told to resend, nothing half-written, and the resend is accepted', async (t) => {
  const { redis, own } = await appWithOwnRedis(t);
  const c = await CourierClient.connect(own.wsUrl, own.token('courier', 'c-outage'));
  t.teardown(() => c.close());
  const now = Date.now();
  t.same(await c.request({ type: 'loc', seq: 1, ts: now - 3000, lat: LAT, lng: LNG }), { type: 'ack', seq: 1, rejected: [] });

  // The client is 'end' only once Redis has closed its side too (slow on a loaded machine): wait for it, so the
  // reconnect below is not skipped because the old connection still looked ready.
  const ended = new Promise((r) => redis.once('end', r));
  redis.disconnect();
  await ended;
  t.match(await c.request({ type: 'loc', seq: 2, ts: now - 2000, lat: LAT, lng: LNG }), { type: 'error', code: 'store_unavailable' });
  t.match(await c.request({ type: 'loc', seq: 2, ts: now - 2000, lat: LAT, lng: LNG }), { type: 'error', code: 'store_unavailable' }, 'still down');

  await redis.connect();
  t.same(await c.request({ type: 'loc', seq: 2, ts: now - 2000, lat: LAT, lng: LNG }), { type: 'ack', seq: 2, rejected: [] }, 'the resend is not a "duplicate"');
  t.same(await c.request({ type: 'loc', seq: 2, ts: now - 2000, lat: LAT, lng: LNG }), { type: 'ack', seq: null, rejected: [{ seq: 2, reason: 'duplicate_seq' }] });
  const rows = await waitFor(() => storedRows(ctx.db, 'c-outage'), (r) => r.length >= 2);
  t.same(rows.map((r) => r.seq), [1, 2], 'each point stored exactly once');
});

t.test('Redis down while a connecting courier state loads: store_unavailable (resend), not internal', async (t) => {
  const { redis, own } = await appWithOwnRedis(t);
  const ended = new Promise((r) => redis.once('end', r));
  redis.disconnect();
  await ended;
  const c = await CourierClient.connect(own.wsUrl, own.token('courier', 'c-load-outage'));
  t.teardown(() => c.close());
  const now = Date.now();
  t.match(await c.request({ type: 'loc', seq: 1, ts: now - 2000, lat: LAT, lng: LNG }), { type: 'error', code: 'store_unavailable' });
  await redis.connect();
  t.same(await c.request({ type: 'loc', seq: 1, ts: now - 2000, lat: LAT, lng: LNG }), { type: 'ack', seq: 1, rejected: [] }, 'the resend is accepted');
});

t.test('after one bad fix, agreeing good points re-anchor the courier instead of being refused forever', async (t) => {
  const c = await CourierClient.connect(wsUrl, token('courier', 'c-jump'));
  t.teardown(() => c.close());
  const now = Date.now();
  t.same(await c.request({ type: 'loc', seq: 1, ts: now - 20_000, lat: LAT, lng: LNG }), { type: 'ack', seq: 1, rejected: [] });
  // The real position is ~45 km north; each point 1 s after the last, a few metres apart.
  const far = (i: number) => ({ seq: 2 + i, ts: now - 10_000 + i * 1000, lat: LAT + 0.4 + i * 1e-5, lng: LNG });
  const { REANCHOR_AFTER } = await import('../../src/domain/location-filter.js');
  for (let i = 0; i < REANCHOR_AFTER; i++) {
    t.same(await c.request({ type: 'loc', ...far(i) }), { type: 'ack', seq: null, rejected: [{ seq: far(i).seq, reason: 'implausible_speed' }] });
  }
  const next = far(REANCHOR_AFTER);
  t.same(await c.request({ type: 'loc', ...next }), { type: 'ack', seq: next.seq, rejected: [] }, 'accepted: the track re-anchored');
  const state = await courierState('c-jump');
  t.equal(state.body.lat, next.lat, 'the current position moved to the new place');
  const rows = await waitFor(() => storedRows(ctx.db, 'c-jump'), (r) => r.length >= 2);
  t.same(rows.map((r) => r.seq), [1, next.seq], 'the rejected points are not in history');
});

t.test('a reinstalled app restarting its seq at 0 is accepted, also after reconnecting', async (t) => {
  const now = Date.now();
  const a = await CourierClient.connect(wsUrl, token('courier', 'c-reset'));
  t.same(await a.request({ type: 'loc', seq: 90_000, ts: now - 10_000, lat: LAT, lng: LNG }), { type: 'ack', seq: 90_000, rejected: [] });
  a.close();
  await a.closed;
  const b = await CourierClient.connect(wsUrl, token('courier', 'c-reset'));
  t.teardown(() => b.close());
  t.same(await b.request({ type: 'loc', seq: 0, ts: now - 5000, lat: LAT, lng: LNG }), { type: 'ack', seq: 0, rejected: [] }, 'counter reset');
  t.same(await b.request({ type: 'loc', seq: 1, ts: now - 4000, lat: LAT, lng: LNG }), { type: 'ack', seq: 1, rejected: [] });
  t.same(await b.request({ type: 'loc', seq: 1, ts: now - 4000, lat: LAT, lng: LNG }), { type: 'ack', seq: null, rejected: [{ seq: 1, reason: 'duplicate_seq' }] });
  t.equal(await ctx.redis.hget(courierKey('c-reset'), 'maxSeq'), '1', 'the stored window follows the new counter');
  // A point from before the reset, sent again, is beyond the window: accepted, yet history keeps it once.
  t.same(await b.request({ type: 'loc', seq: 90_000, ts: now - 10_000, lat: LAT, lng: LNG }), { type: 'ack', seq: 90_000, rejected: [] });
  t.same(await b.request({ type: 'loc', seq: 2, ts: now - 3000, lat: LAT, lng: LNG }), { type: 'ack', seq: 2, rejected: [] }, 'the new counter goes on');
  t.equal((await courierState('c-reset')).body.seq, 2, 'the old point never moved the position back');
  const rows = await waitFor(() => storedRows(ctx.db, 'c-reset'), (r) => r.length >= 4);
  await new Promise((r) => setTimeout(r, 100));
  t.same((await storedRows(ctx.db, 'c-reset')).map((r) => r.seq), [0, 1, 2, 90_000], 'every point stored once');
  t.equal(rows.length, 4);
});

t.test('a courier on two nodes leaves no ghost in a cell set: the old cell comes from Redis, not node memory', async (t) => {
  const second = await buildTestApp(ctx);
  t.teardown(() => second.close());
  const { zoneOf } = await import('../../src/domain/geo.js');
  const setOf = (cell: string) => `loc:cell:{${zoneOf(cell)}}:${cell}`;
  const now = Date.now();
  const a = await CourierClient.connect(wsUrl, token('courier', 'c-two'));
  t.teardown(() => a.close());
  t.match(await a.request({ type: 'loc', seq: 1, ts: now - 120_000, lat: LAT, lng: LNG }), { seq: 1 });
  const x = (await courierState('c-two')).body.cell as string;
  // The second node loads the courier's state now (cell x) and keeps it in memory.
  const b = await CourierClient.connect(second.wsUrl, second.token('courier', 'c-two'));
  t.teardown(() => b.close());
  t.equal(await waitFor(() => ctx.redis.hget(courierKey('c-two'), 'status'), (v) => v === 'idle'), 'idle');
  t.match(await a.request({ type: 'loc', seq: 2, ts: now - 60_000, lat: LAT + 0.01, lng: LNG }), { seq: 2 });
  const y = (await courierState('c-two')).body.cell as string;
  t.match(await b.request({ type: 'loc', seq: 3, ts: now, lat: LAT + 0.02, lng: LNG }), { seq: 3 });
  const z = (await courierState('c-two')).body.cell as string;
  t.equal(new Set([x, y, z]).size, 3, 'three different cells');
  t.notOk(await ctx.redis.sismember(setOf(x), 'c-two'));
  t.notOk(await ctx.redis.sismember(setOf(y), 'c-two'), 'not left behind in the cell the other node moved it to');
  t.ok(await ctx.redis.sismember(setOf(z), 'c-two'));
});
