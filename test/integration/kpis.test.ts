/**
 * GET /v1/kpis against hand-computed buckets: orders written straight into Postgres with known
 * placement, delivery and promise times; the endpoint must count them into the right 15-minute buckets
 * of the service clock, with on-time share and nearest-rank click-to-door percentiles. Plus the 400s.
 */
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { ManualClock } from '../../src/clock.js';
import { buildTestApp, createTestContext } from '../support/index.js';
import { http } from './orders-helpers.js';

const Q = 15 * 60_000;
const MIN = 60_000;

t.test('KPIs per bucket', async (t) => {
  const ctx = await createTestContext(t, { WEBHOOK_SENDER: 'off' });
  // a day on a quarter-hour boundary, plus 2 h
  const day = Math.floor(Date.now() / 86_400_000) * 86_400_000 - 86_400_000;
  const t0 = day + 2 * 3_600_000;
  const clock = new ManualClock(t0 + 4 * Q);
  const app = await buildTestApp(ctx, { clock });
  const token = app.token('dispatcher', 'd1');

  let n = 0;
  const put = async (status: string, placedAt: number, deliveredAt: number | null, promisedBy: number) => {
    n++;
    await ctx.db.query(
      `INSERT INTO orders (id, store_id, external_id, request_hash, status, version, zone, pickup_lat, pickup_lng, dropoff_lat, dropoff_lng,
                           items, size, placed_at, ready_at, ready_known, delivery_option, promised_by, created_at, updated_at)
       VALUES ($1, 's1', $2, 'h', $3, 1, 'z', 52.5, 13.4, 52.51, 13.41, 1, 1, $4, $4, true, 'express', $5, $4, $6)`,
      [randomUUID(), `k${n}`, status, new Date(placedAt), new Date(promisedBy), new Date(deliveredAt ?? placedAt)],
    );
  };
  // bucket 0 [t0, t0+15m): 4 placed (one cancelled later); bucket 1: 2 placed; deliveries in buckets 1 and 2
  await put('delivered', t0 + 1 * MIN, t0 + 20 * MIN, t0 + 31 * MIN); // ctd 19 min, on time, delivered in bucket 1
  await put('delivered', t0 + 2 * MIN, t0 + 25 * MIN, t0 + 22 * MIN); // ctd 23 min, late, bucket 1
  await put('delivered', t0 + 5 * MIN, t0 + 29 * MIN, t0 + 35 * MIN); // ctd 24 min, on time, bucket 1
  await put('delivered', t0 + 16 * MIN, t0 + 40 * MIN, t0 + 40 * MIN); // ctd 24 min, on time (exactly at promise), bucket 2
  await put('placed', t0 + 20 * MIN, null, t0 + 60 * MIN); // placed in bucket 1, not delivered
  await put('delivered', t0 - 10 * MIN, t0 + 5 * MIN, t0 + 30 * MIN); // placed before the range, delivered in bucket 0 (ctd 15 min)
  await put('cancelled', t0 + 3 * MIN, t0 + 4 * MIN, t0 + 30 * MIN); // placed in bucket 0, never delivered

  const res = await http(app.baseUrl, 'GET', `/v1/kpis?from=${t0}&to=${t0 + 4 * Q}`, token);
  t.equal(res.status, 200);
  t.match(res.body, { from: t0, to: t0 + 4 * Q, bucketMs: Q });
  t.same(res.body.buckets, [
    { start: t0, placed: 4, delivered: 1, onTime: 1, late: 0, onTimePct: 100, ctdP50Ms: 15 * MIN, ctdP90Ms: 15 * MIN },
    // ctd 19, 23, 24 min: nearest rank p50 = 2nd = 23, p90 = 3rd = 24
    { start: t0 + Q, placed: 2, delivered: 3, onTime: 2, late: 1, onTimePct: 66.7, ctdP50Ms: 23 * MIN, ctdP90Ms: 24 * MIN },
    { start: t0 + 2 * Q, placed: 0, delivered: 1, onTime: 1, late: 0, onTimePct: 100, ctdP50Ms: 24 * MIN, ctdP90Ms: 24 * MIN },
    { start: t0 + 3 * Q, placed: 0, delivered: 0, onTime: 0, late: 0, onTimePct: null, ctdP50Ms: null, ctdP90Ms: null },
  ]);

  const hourly = await http(app.baseUrl, 'GET', `/v1/kpis?from=${new Date(t0 + 7 * MIN).toISOString()}&bucket=3600000`, token);
  t.equal(hourly.status, 200, 'ISO from, to = now by default');
  t.match(hourly.body, { from: t0, to: t0 + 3_600_000, bucketMs: 3_600_000 }, 'aligned to whole buckets');
  t.match(hourly.body.buckets, [{ placed: 6, delivered: 5, onTime: 4, late: 1, onTimePct: 80 }]);

  const def = await http(app.baseUrl, 'GET', '/v1/kpis', token);
  t.equal(def.body.bucketMs, Q, 'default 15 minutes');
  t.equal(def.body.buckets.length, 96, 'over the last 24 h');

  for (const [query, code] of [
    ['from=yesterday', 'invalid_from'],
    ['to=soon', 'invalid_to'],
    ['bucket=1000', 'invalid_bucket'],
    ['bucket=15m', 'invalid_bucket'],
    [`from=${t0}&to=${t0}`, 'invalid_time_range'],
    [`from=${t0 - 40 * 86_400_000}&to=${t0}`, 'invalid_time_range'],
    [`from=${t0 - 30 * 86_400_000}&to=${t0}&bucket=60000`, 'too_many_buckets'],
    ['color=red', 'validation_failed'],
  ] as const) {
    t.match(await http(app.baseUrl, 'GET', `/v1/kpis?${query}`, token), { status: 400, body: { code } }, query);
  }
  t.equal((await http(app.baseUrl, 'GET', '/v1/kpis', app.token('store', 's1'))).status, 403);
  t.equal((await http(app.baseUrl, 'GET', '/v1/kpis', app.token('courier', 'c1'))).status, 403);
});
