import t from 'tap';
import type { ChildProcess } from 'node:child_process';
import { createTestContext, buildTestApp } from '../support/index.js';
import { killChild, startSinkChild } from './history-helpers.js';
import { CourierClient, storedRows, waitFor } from './ingest-helpers.js';
import { HistorySink } from '../../src/runtime/history-sink.js';
import { PositionWriter } from '../../src/store/pg/position-writer.js';
import { dropExpiredPartitions, ensureUpcomingPartitions, listPartitions, partitionName } from '../../src/store/pg/position-partitions.js';

const ctx = await createTestContext(t);
const { app, wsUrl, token } = await buildTestApp(ctx);
// This test runs its own sinks: the app's must not compete for the stream.
await app.historySink.stop();

const startChild = (consumer: string) => startSinkChild(ctx, consumer);
const kill = killChild;

t.test('SIGKILL the sink mid-batch, restart it: every acked point is stored exactly once', async (t) => {
  const couriers = await Promise.all(['k1', 'k2', 'k3', 'k4'].map((id) => CourierClient.connect(wsUrl, token('courier', id))));
  t.teardown(() => couriers.forEach((c) => c.close()));
  const acked = new Set<string>();
  let stop = false;
  let rejectedFrames = 0;
  const start = Date.now() - 600_000;
  // Couriers stream points (and count acks) while sinks are being killed.
  const producers = couriers.map(async (c, i) => {
    for (let seq = 0; !stop; seq++) {
      const points = Array.from({ length: 5 }, (_, j) => ({ seq: seq * 5 + j, ts: start + (seq * 5 + j) * 10, lat: 48 + i * 0.01, lng: 2 + (seq * 5 + j) * 1e-6 }));
      const ack = await c.request({ type: 'locs', points });
      if (ack.type !== 'ack' || (ack.rejected as unknown[]).length > 0 || ack.seq !== points[4].seq) {
        if (rejectedFrames++ === 0) t.comment(`unexpected reply ${JSON.stringify(ack)}`);
        continue;
      }
      for (const p of points) acked.add(`k${i + 1}:${p.seq}`);
      await new Promise((r) => setTimeout(r, 2));
    }
  });

  let child = await startChild('victim');
  for (let kill_ = 0; kill_ < 4; kill_++) {
    await new Promise((r) => setTimeout(r, 150 + Math.random() * 250));
    await kill(child);
    // Half of the restarts come back under the same name (own pending list first), half as a new one.
    child = await startChild(kill_ % 2 === 0 ? 'victim' : `victim-${kill_}`);
  }
  await new Promise((r) => setTimeout(r, 200));
  await kill(child);
  stop = true;
  await Promise.all(producers);

  t.equal(rejectedFrames, 0);
  // one stream on one Redis, HISTORY_STREAMS' automatic 16 on a cluster
  const pending = await Promise.all(app.locationIndex.streams.map((s) => ctx.redis.xpending(s, 'history') as Promise<[number, ...unknown[]]>));
  t.comment(`acked ${acked.size} points; ${pending.reduce((n, p) => n + p[0], 0)} entries pending with dead consumers in ${app.locationIndex.streams.length} stream(s)`);

  // A survivor takes over what the dead ones left (claimIdleMs 0: they are known dead here).
  const survivorRedis = ctx.redis.duplicate();
  t.teardown(() => survivorRedis.disconnect());
  const survivor = new HistorySink({ redis: survivorRedis, writer: new PositionWriter(ctx.db), batchSize: 200, flushMs: 10, consumer: 'survivor', claimIdleMs: 0 });
  await survivor.start();
  const left = await waitFor(() => survivor.backlog(), (n) => n === 0, 30_000);
  t.equal(left, 0, 'the stream is drained');
  await survivor.stop();

  const { rows } = await ctx.db.query<{ courier_id: string; seq: string; n: string }>(
    'select courier_id, seq, count(*) as n from courier_positions group by courier_id, seq',
  );
  const stored = new Set(rows.map((r) => `${r.courier_id}:${r.seq}`));
  const missing = [...acked].filter((k) => !stored.has(k));
  const duplicated = rows.filter((r) => Number(r.n) > 1);
  t.ok(acked.size > 100, `enough traffic (${acked.size} points)`);
  t.same(missing, [], 'no acked point is missing');
  t.same(duplicated, [], 'no point is stored twice');
  t.equal(rows.length, acked.size, 'and nothing was stored that was not acked');
  const total = await ctx.db.query<{ n: string }>('select count(*) as n from courier_positions');
  t.equal(Number(total.rows[0].n), acked.size);
});

t.test('a redelivered batch inserts nothing new', async (t) => {
  const writer = new PositionWriter(ctx.db);
  const points = [
    { courierId: 'r1', seq: 1, ts: Date.now() - 1000, lat: 1, lng: 1, serverTs: Date.now() },
    { courierId: 'r1\ttab\\slash', seq: 2, ts: Date.now() - 500, lat: 1, lng: 1, acc: 3.5, serverTs: Date.now() },
  ];
  t.equal(await writer.write(points), 2);
  t.equal(await writer.write(points), 0, 'the second delivery is a no-op');
  const { rows } = await ctx.db.query('select courier_id, acc from courier_positions where courier_id like $1 order by seq', ['r1%']);
  t.same(rows, [{ courier_id: 'r1', acc: null }, { courier_id: 'r1\ttab\\slash', acc: 3.5 }], 'COPY escaping keeps odd ids intact');
});

t.test('a batch with stored and new points adds exactly the new ones', async (t) => {
  const writer = new PositionWriter(ctx.db);
  const at = Date.now() - 10_000;
  const p = (seq: number) => ({ courierId: 'mix', seq, ts: at + seq, lat: 1, lng: 1, serverTs: at + seq });
  t.equal(await writer.write([p(1), p(2)]), 2);
  t.equal(await writer.write([p(2), p(3), p(1), p(4)]), 2, 'only seq 3 and 4 are new');
  const { rows } = await ctx.db.query(`select seq::int from courier_positions where courier_id = 'mix' order by seq`);
  t.same(rows.map((r: { seq: number }) => r.seq), [1, 2, 3, 4], 'no duplicates, nothing missing');
});

t.test('the binary COPY keeps every value exactly (times to the ms, nulls, negative coordinates, any id)', async (t) => {
  const writer = new PositionWriter(ctx.db);
  const ts = Date.UTC(2026, 10, 22, 23, 59, 59, 987);
  const point = { courierId: 'ünï-cødé 🚲', seq: 2 ** 40 + 3, ts, lat: -33.8688197, lng: -151.2092955, acc: 4.5, speed: 12.25, heading: 359.5, serverTs: ts + 1234 };
  // A time before Postgres's epoch (2000-01-01) is a negative count: received_at carries one (ts would need a 1999 partition).
  const bare = { courierId: 'bare', seq: 0, ts: ts - 5, lat: 0.5, lng: 179.9999999, serverTs: Date.UTC(1999, 11, 31, 23, 59, 59, 1) };
  t.equal(await writer.write([point, bare]), 2);
  const { rows } = await ctx.db.query(
    `select courier_id, seq::text, (extract(epoch from ts) * 1000)::bigint::text as ts_ms, lat, lng, acc, speed, heading,
            (extract(epoch from received_at) * 1000)::bigint::text as received_ms
       from courier_positions where courier_id in ($1, 'bare') order by seq desc`,
    [point.courierId],
  );
  t.same(rows, [
    { courier_id: point.courierId, seq: String(point.seq), ts_ms: String(ts), lat: point.lat, lng: point.lng, acc: 4.5, speed: 12.25, heading: 359.5, received_ms: String(ts + 1234) },
    { courier_id: 'bare', seq: '0', ts_ms: String(bare.ts), lat: 0.5, lng: 179.9999999, acc: null, speed: null, heading: null, received_ms: String(bare.serverTs) },
  ]);
});

t.test('partitions: created ahead by UTC day, whole expired days dropped', async (t) => {
  const day = 86_400_000;
  const now = Date.UTC(2026, 0, 10, 12);
  await ensureUpcomingPartitions(ctx.db, now);
  for (let d = -1; d <= 2; d++) t.ok((await listPartitions(ctx.db)).some((p) => p.name === partitionName(now + d * day)));
  t.equal(partitionName(Date.UTC(2026, 0, 9, 23, 59, 59, 999)), 'courier_positions_p20260109');
  const writer = new PositionWriter(ctx.db);
  await writer.write([{ courierId: 'old', seq: 1, ts: Date.UTC(2026, 0, 9, 23, 0), lat: 1, lng: 1, serverTs: now }]);
  // Retention 1 day at Jan 10 12:00 → cutoff Jan 9 12:00: the Jan 9 partition still holds kept data.
  t.same(await dropExpiredPartitions(ctx.db, now, 1), []);
  // At Jan 11 00:00 the whole Jan 9 day is older than one day.
  const dropped = await dropExpiredPartitions(ctx.db, Date.UTC(2026, 0, 11), 1);
  t.same(dropped, ['courier_positions_p20260109']);
  const { rows } = await ctx.db.query(`select count(*)::int as n from courier_positions where courier_id = 'old'`);
  t.equal(rows[0].n, 0);
  // A cached day whose partition was dropped is recreated on the next write instead of failing forever.
  t.equal(await writer.write([{ courierId: 'old', seq: 2, ts: Date.UTC(2026, 0, 9, 22, 0), lat: 1, lng: 1, serverTs: now }]), 1);
});

t.test('graceful shutdown drains: every point acked before close is in Postgres once the app has closed', async (t) => {
  const second = await buildTestApp(ctx);
  const c = await CourierClient.connect(second.wsUrl, second.token('courier', 'drain-1'));
  const now = Date.now();
  const points = Array.from({ length: 300 }, (_, i) => ({ seq: i, ts: now - 60_000 + i * 100, lat: 45 + i * 1e-5, lng: 9 }));
  const acks = await Promise.all([0, 100, 200].map((from) => c.request({ type: 'locs', points: points.slice(from, from + 100) })));
  t.same(acks.map((a) => a.seq), [99, 199, 299]);
  await second.close();
  const { rows } = await ctx.db.query<{ n: number }>(`select count(*)::int as n from courier_positions where courier_id = 'drain-1'`);
  t.equal(rows[0].n, 300, 'no waiting needed: close returned after the sink drained');
});

t.test('the sink recovers when Redis loses the stream and its group (restart without persistence, FLUSHALL)', async (t) => {
  const sinkRedis = ctx.redis.duplicate();
  const sink = new HistorySink({ redis: sinkRedis, writer: new PositionWriter(ctx.db), batchSize: 200, flushMs: 10, consumer: 'nogroup' });
  t.teardown(async () => {
    await sink.stop();
    sinkRedis.disconnect();
  });
  await sink.start();
  const c = await CourierClient.connect(wsUrl, token('courier', 'ng-1'));
  t.teardown(() => c.close());
  const now = Date.now();
  t.same(await c.request({ type: 'loc', seq: 1, ts: now - 5000, lat: 47, lng: 8 }), { type: 'ack', seq: 1, rejected: [] });
  await waitFor(() => storedRows(ctx.db, 'ng-1'), (r) => r.length === 1);

  // The streams vanish with their group; the ingest's next XADD recreates a bare stream.
  for (const stream of app.locationIndex.streams) await ctx.redis.del(stream);
  t.same(await c.request({ type: 'loc', seq: 2, ts: now - 4000, lat: 47, lng: 8 }), { type: 'ack', seq: 2, rejected: [] });
  t.same(await c.request({ type: 'loc', seq: 3, ts: now - 3000, lat: 47, lng: 8 }), { type: 'ack', seq: 3, rejected: [] });
  const rows = await waitFor(() => storedRows(ctx.db, 'ng-1'), (r) => r.length === 3, 15_000);
  t.same(rows.map((r) => r.seq), [1, 2, 3], 'points acked after the loss reach Postgres');
});
