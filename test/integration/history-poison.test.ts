/**
 * Issue 11, "poisoned history": one courier's bad values must never stop the history for everyone.
 * Real app, real history sink thread, real Redis stream and Postgres.
 */
import t from 'tap';
import { createTestContext, buildTestApp } from '../support/index.js';
import { CourierClient, waitFor } from './ingest-helpers.js';
import { DEAD_LETTER_STREAM } from '../../src/runtime/history-sink.js';
import { LOCATION_STREAM, packPoints, type StoredPoint } from '../../src/store/redis/location-index.js';

const ctx = await createTestContext(t, { HISTORY_FLUSH_MS: '20' });
const { baseUrl, wsUrl, token } = await buildTestApp(ctx);

async function rowCount(courierId: string): Promise<number> {
  const { rows } = await ctx.db.query<{ n: string }>('select count(*) as n from courier_positions where courier_id = $1', [courierId]);
  return Number(rows[0].n);
}

t.test('a redelivered batch with values a real refuses is split: bad points dead-lettered, every other point stored', async (t) => {
  const start = Date.now() - 60_000;
  const victim = await CourierClient.connect(wsUrl, token('courier', 'poison'));
  const first = await victim.request({ type: 'locs', points: [1, 2, 3].map((seq) => ({ seq, ts: start + seq * 1000, lat: 48.1, lng: 2.1 + seq * 1e-5, speed: 3 })) });
  t.equal(first.seq, 3);
  await waitFor(() => rowCount('poison'), (n) => n === 3);
  victim.close();

  // A stream entry as an older build (or a crash between commit and XACK) leaves it: a point already stored
  // (forces the deduplicating path) with points whose reals Postgres refuses or binary COPY would distort.
  const now = Date.now();
  const legacy: StoredPoint[] = [
    { courierId: 'poison', seq: 2, ts: start + 2000, lat: 48.1, lng: 2.10002, speed: 3, serverTs: now },
    { courierId: 'poison', seq: 10, ts: start + 10_000, lat: 48.1, lng: 2.1001, speed: 1e-50, serverTs: now },
    { courierId: 'poison', seq: 11, ts: start + 11_000, lat: 48.1, lng: 2.1001, speed: 1e39, serverTs: now },
    { courierId: 'poison', seq: 12, ts: start + 12_000, lat: 48.1, lng: 2.1001, speed: 4, serverTs: now },
  ];
  await ctx.redis.xadd(LOCATION_STREAM, '*', 'p', packPoints(legacy));

  // The scenario of the issue over the socket: reconnect, re-send an accepted point with a 1e-50 speed point.
  const again = await CourierClient.connect(wsUrl, token('courier', 'poison'));
  t.teardown(() => again.close());
  const resent = await again.request({
    type: 'locs',
    points: [
      { seq: 3, ts: start + 3000, lat: 48.1, lng: 2.10003, speed: 3 },
      { seq: 20, ts: start + 20_000, lat: 48.1, lng: 2.1002, speed: 1e-50 },
      { seq: 21, ts: start + 21_000, lat: 48.1, lng: 2.1002, speed: 1e39 },
    ],
  });
  t.equal(resent.type, 'ack');
  t.same(
    (resent.rejected as { seq: number; reason: string }[]).find((r) => r.seq === 21),
    { seq: 21, reason: 'schema' },
    'a speed no real can hold is refused at the door',
  );

  // Other couriers keep flowing into Postgres meanwhile.
  const others = await Promise.all(['ok1', 'ok2', 'ok3'].map((id) => CourierClient.connect(wsUrl, token('courier', id))));
  t.teardown(() => others.forEach((c) => c.close()));
  for (let round = 0; round < 5; round++) {
    await Promise.all(
      others.map((c, i) => c.request({ type: 'locs', points: [{ seq: round, ts: start + 30_000 + round * 1000, lat: 48.2 + i * 0.01, lng: 2.2 + round * 1e-5 }] })),
    );
  }
  for (const id of ['ok1', 'ok2', 'ok3']) {
    t.equal(await waitFor(() => rowCount(id), (n) => n === 5), 5, `${id}: every acked point stored`);
  }
  const stored = await waitFor(
    () => ctx.db.query<{ seq: string; speed: number | null }>("select seq, speed from courier_positions where courier_id = 'poison' order by seq").then((r) => r.rows),
    (rows) => rows.length >= 5,
  );
  t.same(
    stored.map((r) => [Number(r.seq), r.speed]),
    [
      [1, 3],
      [2, 3],
      [3, 3],
      [12, 4],
      [20, 0],
    ],
    'good points stored once; a tiny speed is stored as 0',
  );
  const dead = await waitFor(() => ctx.redis.xrange(DEAD_LETTER_STREAM, '-', '+'), (d) => d.length === 2);
  const deadSeqs = dead.map(([, f]) => (JSON.parse(f[f.indexOf('point') + 1]) as unknown[][])[0][1]).sort();
  t.same(deadSeqs, [10, 11], 'the two bad points are dead-lettered');
  t.match(dead[0][1][dead[0][1].indexOf('reason') + 1], /speed: .* does not fit a real/);
  t.equal(await waitFor(() => ctx.redis.xlen(LOCATION_STREAM), (n) => n === 0), 0, 'the stream is drained (everything acked)');
  const metrics = await (await fetch(`${baseUrl}/metrics`, { headers: { authorization: `Bearer ${token('admin', 'ops')}` } })).text();
  t.match(metrics, /history_dead_letter_points 2/);
});
