/**
 * KPIs by fleet end to end: orders written straight into Postgres for the own fleet (with courier
 * assignments) and for the carrier `simcarrier` (with its cost, in two currencies); GET /v1/kpis must
 * split the range into own and simcarrier with hand-computed numbers, the console state and the
 * kpi_* metrics must show the same.
 */
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { ManualClock } from '../../src/clock.js';
import { buildConsoleState } from '../../src/runtime/console-state.js';
import { buildTestApp, createTestContext } from '../support/index.js';
import { parseMetrics, sample } from '../support/prometheus.js';
import { http } from './orders-helpers.js';

const MIN = 60_000;

t.test('KPIs split by fleet: own vs simcarrier', async (t) => {
  const ctx = await createTestContext(t, { WEBHOOK_SENDER: 'off' });
  const t0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;
  const now = t0 + 60 * MIN;
  const clock = new ManualClock(now);
  const app = await buildTestApp(ctx, { clock, config: { currency: 'EUR' } });
  const token = app.token('dispatcher', 'd1');

  let n = 0;
  const put = async (o: {
    status: string;
    placed: number;
    delivered?: number;
    promised: number;
    fleet: string;
    courier?: string;
    assigned?: number;
    cost?: [number, string];
  }) => {
    const id = randomUUID();
    n++;
    await ctx.db.query(
      `INSERT INTO orders (id, store_id, external_id, request_hash, status, version, zone, pickup_lat, pickup_lng, dropoff_lat, dropoff_lng,
                           items, size, placed_at, ready_at, ready_known, delivery_option, promised_by, created_at, updated_at,
                           courier_id, fleet, carrier_delivery_id, carrier_cost_minor, carrier_cost_currency)
       VALUES ($1, 's1', $2, 'h', $3, 1, 'z', 52.5, 13.4, 52.51, 13.41, 1, 1, $4, $4, true, 'express', $5, $4, $6, $7, $8, $9, $10, $11)`,
      [
        id,
        `k${n}`,
        o.status,
        new Date(t0 + o.placed * MIN),
        new Date(t0 + o.promised * MIN),
        new Date(t0 + (o.delivered ?? o.placed) * MIN),
        o.courier ?? null,
        o.fleet,
        o.fleet === 'own' ? null : `d${n}`,
        o.cost?.[0] ?? null,
        o.cost?.[1] ?? null,
      ],
    );
    if (o.courier && o.assigned !== undefined) {
      const offer = randomUUID();
      await ctx.db.query(
        `INSERT INTO offers (id, courier_id, order_ids, stops, status, created_at, expires_at) VALUES ($1, $2, ARRAY[$3::uuid], '[]', 'accepted', $4, $4)`,
        [offer, o.courier, id, new Date(t0 + o.assigned * MIN)],
      );
      await ctx.db.query(`INSERT INTO assignments (order_id, courier_id, offer_id, assigned_at, ended_at, end_status) VALUES ($1, $2, $3, $4, $5, 'delivered')`, [
        id,
        o.courier,
        offer,
        new Date(t0 + o.assigned * MIN),
        new Date(t0 + (o.delivered ?? 0) * MIN),
      ]);
    }
  };
  // own: c1 delivers two (assigned at 2 and 6, delivered at 20 and 30: 28 min → max(2 × 10, 7) = €20),
  //      c2 one (assigned at 0, delivered at 50: 50 min → max(10, 12.5) = €12.5) → €32.5 / 3 = €10.83
  await put({ status: 'delivered', fleet: 'own', placed: 1, assigned: 2, delivered: 20, promised: 30, courier: 'c1' }); // ctd 19, on time
  await put({ status: 'delivered', fleet: 'own', placed: 4, assigned: 6, delivered: 30, promised: 25, courier: 'c1' }); // ctd 26, late
  await put({ status: 'delivered', fleet: 'own', placed: 0, assigned: 0, delivered: 50, promised: 50, courier: 'c2' }); // ctd 50, on time
  await put({ status: 'placed', fleet: 'own', placed: 55, promised: 90 });
  // simcarrier: 3 delivered (two priced in EUR: 7.00 + 8.01, one in USD 9.99), one unpriced, one still with the carrier
  await put({ status: 'delivered', fleet: 'simcarrier', placed: 10, delivered: 40, promised: 45, cost: [700, 'EUR'] }); // ctd 30, on time
  await put({ status: 'delivered', fleet: 'simcarrier', placed: 12, delivered: 47, promised: 45, cost: [801, 'EUR'] }); // ctd 35, late
  await put({ status: 'delivered', fleet: 'simcarrier', placed: 15, delivered: 35, promised: 45, cost: [999, 'USD'] }); // ctd 20, on time
  await put({ status: 'delivered', fleet: 'simcarrier', placed: 20, delivered: 58, promised: 45 }); // ctd 38, late, unpriced
  await put({ status: 'picked_up', fleet: 'simcarrier', placed: 30, promised: 70, cost: [650, 'EUR'] });

  const res = await http(app.baseUrl, 'GET', `/v1/kpis?from=${t0}&to=${now}`, token);
  t.equal(res.status, 200);
  const own = { fleet: 'own', placed: 4, delivered: 3, onTime: 2, late: 1, onTimePct: 66.7, ctdP50Ms: 26 * MIN, ctdP90Ms: 50 * MIN, cost: [{ currency: 'EUR', orders: 3, perOrder: 10.83 }] };
  const carrier = {
    fleet: 'simcarrier',
    placed: 5,
    delivered: 4,
    onTime: 2,
    late: 2,
    onTimePct: 50,
    // ctd 20, 30, 35, 38: nearest-rank p50 = 2nd = 30, p90 = 4th = 38
    ctdP50Ms: 30 * MIN,
    ctdP90Ms: 38 * MIN,
    cost: [
      { currency: 'EUR', orders: 2, perOrder: 7.51 }, // 15.01 / 2 = 7.505 → 7.51
      { currency: 'USD', orders: 1, perOrder: 9.99 },
    ],
  };
  t.same(res.body.byFleet, [own, carrier]);
  t.equal(res.body.buckets.length, 4, 'the buckets are still there');

  const early = await http(app.baseUrl, 'GET', `/v1/kpis?from=${t0}&to=${t0 + 15 * MIN}`, token);
  t.same(early.body.byFleet, [
    { fleet: 'own', placed: 3, delivered: 0, onTime: 0, late: 0, onTimePct: null, ctdP50Ms: null, ctdP90Ms: null, cost: [] },
    { fleet: 'simcarrier', placed: 2, delivered: 0, onTime: 0, late: 0, onTimePct: null, ctdP50Ms: null, ctdP90Ms: null, cost: [] },
  ]);

  // the console's window (the last 3 h) covers the same orders
  const state = await buildConsoleState({ redis: app.app.redis, db: app.app.db, index: app.app.locationIndex, clock, staleAfterMs: 60_000, currency: 'EUR' });
  t.same(state.kpis.byFleet, [own, carrier], 'console state frame');
  t.equal(state.kpis.delivered, 7);
  t.equal(state.kpis.costPerOrder, 10.83, 'the overall cost per order is the own fleet’s');

  const metrics = parseMetrics(await (await fetch(`${app.baseUrl}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text());
  t.equal(sample(metrics, 'kpi_orders_delivered', { fleet: 'own' }), 3);
  t.equal(sample(metrics, 'kpi_orders_delivered', { fleet: 'simcarrier' }), 4);
  t.equal(sample(metrics, 'kpi_orders_placed', { fleet: 'simcarrier' }), 5);
  t.equal(sample(metrics, 'kpi_on_time_ratio', { fleet: 'simcarrier' }), 0.5);
  t.equal(sample(metrics, 'kpi_click_to_door_seconds', { fleet: 'own', quantile: '0.9' }), 50 * 60);
  t.equal(sample(metrics, 'kpi_cost_per_order', { fleet: 'own', currency: 'EUR' }), 10.83);
  t.equal(sample(metrics, 'kpi_cost_per_order', { fleet: 'simcarrier', currency: 'EUR' }), 7.51);
  t.equal(sample(metrics, 'kpi_cost_per_order', { fleet: 'simcarrier', currency: 'USD' }), 9.99);
});
