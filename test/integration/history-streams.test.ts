/**
 * Several history streams (HISTORY_STREAMS = 4, on one Redis and on the cluster: `npm run test:cluster`):
 * couriers' points spread over the streams, a courier's always in one stream and in order; sinks killed
 * mid-batch, entries left pending on every stream and taken over (XAUTOCLAIM): every acked point stored
 * exactly once. And a changed setting loses nothing: entries in the legacy `loc:stream` and in streams of
 * another HISTORY_STREAMS are drained too.
 */
import t, { type Test } from 'tap';
import type { ChildProcess } from 'node:child_process';
import { createTestContext, buildTestApp } from '../support/index.js';
import { killChild, startSinkChild } from './history-helpers.js';
import { CourierClient, waitFor } from './ingest-helpers.js';
import { HistorySink, HISTORY_GROUP } from '../../src/runtime/history-sink.js';
import { PositionWriter } from '../../src/store/pg/position-writer.js';
import { packPoints, unpackPoints, type StoredPoint } from '../../src/store/redis/location-index.js';
import { historyStreamIndex, historyStreamKeys, registerHistoryStreams } from '../../src/store/redis/history-streams.js';
import { redisKeys } from '../../src/store/redis/keys.js';

const N = 4;
const ctx = await createTestContext(t, { HISTORY_STREAMS: String(N), HISTORY_FLUSH_MS: '20' });
const { app, wsUrl, token } = await buildTestApp(ctx);
// This test runs its own sinks: the app's must not compete for the streams.
await app.historySink.stop();
const streams = historyStreamKeys(N);

const startChild = (consumer: string) => startSinkChild(ctx, consumer, { STREAMS: String(N) });
const kill = killChild;

/** Every point in a stream, in stream order. */
async function streamPoints(stream: string): Promise<StoredPoint[]> {
  const entries = await ctx.redis.xrange(stream, '-', '+');
  return entries.flatMap(([, fields]) => unpackPoints(fields[fields.indexOf('p') + 1]));
}

async function pendingOf(stream: string): Promise<number> {
  const summary = (await ctx.redis.xpending(stream, HISTORY_GROUP)) as [number, ...unknown[]];
  return Number(summary[0]);
}

async function storedExactlyOnce(t: Test, acked: Set<string>, like: string): Promise<void> {
  const { rows } = await ctx.db.query<{ courier_id: string; seq: string; n: string }>(
    'select courier_id, seq, count(*) as n from courier_positions where courier_id like $1 group by courier_id, seq',
    [like],
  );
  const stored = new Set(rows.map((r) => `${r.courier_id}:${r.seq}`));
  t.same([...acked].filter((k) => !stored.has(k)), [], 'no acked point is missing');
  t.same(rows.filter((r) => Number(r.n) > 1), [], 'no point is stored twice');
  t.equal(rows.length, acked.size, 'and nothing was stored that was not acked');
}

t.test('many couriers over 4 streams: one stream per courier, in order; sinks SIGKILLed mid-batch; every acked point stored exactly once', async (t) => {
  t.same(app.locationIndex.streams, streams, 'the ingest writes the 4 configured streams');
  const ids = Array.from({ length: 12 }, (_, i) => `ms-${i}`);
  t.same(new Set(ids.map((id) => historyStreamIndex(id, N))).size, N, 'the couriers cover every stream');
  const couriers = await Promise.all(ids.map((id) => CourierClient.connect(wsUrl, token('courier', id))));
  t.teardown(() => couriers.forEach((c) => c.close()));
  const acked = new Set<string>();
  const next = ids.map(() => 0);
  const start = Date.now() - 600_000;
  let rejectedFrames = 0;
  /** One frame of 5 points from courier i; counts the acked ones. */
  const send = async (i: number) => {
    const from = next[i];
    next[i] += 5;
    const points = Array.from({ length: 5 }, (_, j) => ({ seq: from + j, ts: start + (from + j) * 10, lat: 48 + i * 0.01, lng: 2 + (from + j) * 1e-6 }));
    const ack = await couriers[i].request({ type: 'locs', points });
    if (ack.type !== 'ack' || (ack.rejected as unknown[]).length > 0 || ack.seq !== points[4].seq) {
      if (rejectedFrames++ === 0) t.comment(`unexpected reply ${JSON.stringify(ack)}`);
      return;
    }
    for (const p of points) acked.add(`${ids[i]}:${p.seq}`);
  };

  // No sink yet: the streams keep what the flushes appended.
  for (let round = 0; round < 2; round++) await Promise.all(ids.map((_, i) => send(i)));
  const seen = new Map<string, string[]>();
  const disorder: string[] = [];
  for (const stream of streams) {
    const last = new Map<string, number>();
    for (const p of await streamPoints(stream)) {
      if (!seen.get(p.courierId)?.includes(stream)) seen.set(p.courierId, [...(seen.get(p.courierId) ?? []), stream]);
      if ((last.get(p.courierId) ?? -1) >= p.seq) disorder.push(`${p.courierId}:${p.seq} in ${stream}`);
      last.set(p.courierId, p.seq);
    }
  }
  t.same(
    ids.map((id) => seen.get(id)),
    ids.map((id) => [streams[historyStreamIndex(id, N)]]),
    "each courier's points are in exactly one stream, the one its id chooses",
  );
  t.same(disorder, [], "a courier's points are in seq order in its stream");
  t.same(await ctx.redis.smembers(redisKeys.locationStreams).then((s) => s.sort()), [...streams].sort(), 'the writer registered its streams');

  // Couriers keep streaming while sinks are killed mid-batch and restarted.
  let stop = false;
  const producers = ids.map(async (_, i) => {
    while (!stop) {
      await send(i);
      await new Promise((r) => setTimeout(r, 20));
    }
  });
  let child = await startChild('victim');
  for (let k = 0; k < 3; k++) {
    await new Promise((r) => setTimeout(r, 150 + Math.random() * 250));
    await kill(child);
    child = await startChild(k % 2 === 0 ? 'victim' : `victim-${k}`);
  }
  await new Promise((r) => setTimeout(r, 200));
  await kill(child);
  stop = true;
  await Promise.all(producers);

  // One more frame per courier, read by a consumer that dies before acking: entries pending on every stream.
  await Promise.all(ids.map((_, i) => send(i)));
  for (const stream of streams) await ctx.redis.xreadgroup('GROUP', HISTORY_GROUP, 'ghost', 'COUNT', 10_000, 'STREAMS', stream, '>');
  const pending = await Promise.all(streams.map(pendingOf));
  t.ok(pending.every((n) => n > 0), `entries pending with dead consumers on every stream (${pending.join(', ')})`);
  t.equal(rejectedFrames, 0);

  // A survivor takes over what the dead ones left on every stream (claimIdleMs 0: they are known dead here).
  const survivorRedis = ctx.redis.duplicate();
  t.teardown(() => survivorRedis.disconnect());
  const survivor = new HistorySink({ redis: survivorRedis, writer: new PositionWriter(ctx.db), batchSize: 200, flushMs: 10, consumer: 'survivor', claimIdleMs: 0, streams: N });
  await survivor.start();
  t.equal(await waitFor(() => survivor.backlog(), (n) => n === 0, 30_000), 0, 'every stream is drained');
  await survivor.stop();
  t.same(await Promise.all(streams.map(pendingOf)), streams.map(() => 0), 'nothing left pending on any stream');
  t.ok(acked.size > 200, `enough traffic (${acked.size} points)`);
  await storedExactlyOnce(t, acked, 'ms-%');
});

t.test('a changed HISTORY_STREAMS loses nothing: the legacy loc:stream and streams of another setting are drained', async (t) => {
  const at = Date.now() - 60_000;
  const point = (courierId: string, seq: number): StoredPoint => ({ courierId, seq, ts: at + seq, lat: 50, lng: 8, serverTs: at + seq });
  const acked = new Set<string>();
  const append = async (stream: string, points: StoredPoint[]) => {
    await ctx.redis.xadd(stream, '*', 'p', packPoints(points));
    for (const p of points) acked.add(`${p.courierId}:${p.seq}`);
  };
  // written by an older version (one stream) and by nodes set to 7 streams, before this sink (4) starts
  await append(redisKeys.locationStream, [point('mig-old', 1), point('mig-old', 2)]);
  const seven = historyStreamKeys(7);
  await registerHistoryStreams(ctx.redis, seven);
  await append(seven[2], [point('mig-7', 1)]);
  await append(seven[6], [point('mig-7b', 1), point('mig-7b', 2)]);
  // a registered stream that does not exist (yet) is no error
  const sinkRedis = ctx.redis.duplicate();
  const sink = new HistorySink({ redis: sinkRedis, writer: new PositionWriter(ctx.db), batchSize: 200, flushMs: 10, consumer: 'migrator', streams: N, rescanMs: 50 });
  t.teardown(async () => {
    await sink.stop();
    sinkRedis.disconnect();
  });
  await sink.start();
  t.same(
    [...sink.readStreams].sort(),
    [...streams, redisKeys.locationStream, seven[2], seven[6]].sort(),
    'reads its own streams, the legacy one and the registered ones that exist',
  );
  // a node with yet another setting starts while the sink runs (rolling deploy): picked up by a rescan
  const nine = historyStreamKeys(9);
  await registerHistoryStreams(ctx.redis, nine);
  await append(nine[5], [point('mig-9', 1)]);
  await append(redisKeys.locationStream, [point('mig-old', 3)]);
  const { rows } = await waitFor(
    () => ctx.db.query<{ n: number }>(`select count(*)::int as n from courier_positions where courier_id like 'mig-%'`),
    (r) => r.rows[0].n === acked.size,
    15_000,
  );
  t.equal(rows[0].n, acked.size, 'every point of every stream stored');
  t.equal(await waitFor(() => sink.backlog(), (n) => n === 0), 0, 'all streams drained');
  await storedExactlyOnce(t, acked, 'mig-%');
});

t.test('graceful shutdown drains every stream: all points acked before close are in Postgres once the app has closed', async (t) => {
  const second = await buildTestApp(ctx);
  const ids = ['gs-a', 'gs-b', 'gs-c', 'gs-d', 'gs-e', 'gs-f'];
  const now = Date.now();
  for (const id of ids) {
    const c = await CourierClient.connect(second.wsUrl, second.token('courier', id));
    t.teardown(() => c.close());
    const points = Array.from({ length: 50 }, (_, i) => ({ seq: i, ts: now - 60_000 + i * 100, lat: 45 + i * 1e-5, lng: 9 }));
    t.match(await c.request({ type: 'locs', points }), { type: 'ack', seq: 49 });
  }
  t.ok(new Set(ids.map((id) => historyStreamIndex(id, N))).size > 1, 'the couriers use several streams');
  await second.close();
  const { rows } = await ctx.db.query<{ n: number }>(`select count(*)::int as n from courier_positions where courier_id like 'gs-%'`);
  t.equal(rows[0].n, 300, 'no waiting needed: close returned after the sink drained all streams');
});
