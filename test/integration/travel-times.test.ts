/**
 * Calibrated travel times in the live service (issue 14), real Postgres: couriers' trails in
 * courier_positions → speed and detour per zone and hour → GET /v1/zones/:id/travel shows them, and the
 * dispatch round's snapshot travels at the calibrated straight-line speed (without trails: exactly the
 * haversine model at COURIER_SPEED_MPS).
 */
import t from 'tap';
import { ManualClock } from '../../src/clock.js';
import { haversineMeters } from '../../src/dispatch/travel.js';
import { dispatcherWiring } from '../../src/runtime/dispatch-loop.js';
import { ensurePartition } from '../../src/store/pg/position-partitions.js';
import { buildTestApp, createTestContext } from '../support/index.js';
import { city, offset } from './dispatch-helpers.js';
import { http } from './orders-helpers.js';

t.test('travel factors learned from trails, shown per zone and used by the rounds', async (t) => {
  const ctx = await createTestContext(t, { STALE_AFTER_MS: '600000', WEBHOOK_SENDER: 'off', COURIER_SPEED_MPS: '4.5', TRAVEL_MIN_SAMPLES: '5' });
  const clock = new ManualClock(Date.now());
  const app = await buildTestApp(ctx, { clock });
  const dispatcher = app.token('dispatcher', 'd1');
  const c = city(app, clock, { lat: 48.137, lng: 11.575 }, t.teardown.bind(t));
  const a = c.centre;
  const b = offset(c.centre, 1000, 1000);

  const before = await http(app.baseUrl, 'GET', '/v1/zones/default/travel', dispatcher);
  t.equal(before.status, 200);
  t.match(before.body, { zone: 'default', legs: 0, prior: { straightMps: 4.5, detour: 1.3 } });
  t.equal(before.body.hours.length, 24);
  t.match(before.body.hours[0], { level: 'prior', samples: 0 });
  t.equal(app.app.travelTimes.modelAt(clock.now()).seconds(a, b), Math.ceil(haversineMeters(a, b) / 4.5), 'no trails: the haversine model at COURIER_SPEED_MPS');

  // 12 Manhattan trips (600 m east, 600 m north and back) at 5 m/s over ground, a fix every 5 s, 1-min stops
  const start = clock.now() - 2 * 3_600_000;
  await ensurePartition(ctx.db, start);
  await ensurePartition(ctx.db, clock.now());
  const rows: [string, number, number, number, number][] = [];
  let p = c.centre;
  let ts = start;
  let seq = 0;
  for (let trip = 0; trip < 12; trip++) {
    const sign = trip % 2 === 0 ? 1 : -1;
    const from = p;
    for (let i = 0; i <= 48; i++) {
      const s = 25 * i; // 5 m/s × 5 s
      p = s <= 600 ? offset(from, 0, sign * s) : offset(from, sign * (s - 600), sign * 600);
      rows.push(['tr-1', ++seq, ts, p.lat, p.lng]);
      ts += 5000;
    }
    for (let i = 0; i < 12; i++) {
      rows.push(['tr-1', ++seq, ts, p.lat, p.lng]);
      ts += 5000;
    }
  }
  await ctx.db.query(
    `INSERT INTO courier_positions (courier_id, seq, ts, lat, lng, received_at)
     SELECT c, s, to_timestamp(ms / 1000.0), lat, lng, to_timestamp(ms / 1000.0)
       FROM unnest($1::text[], $2::bigint[], $3::float8[], $4::float8[], $5::float8[]) AS x(c, s, ms, lat, lng)`,
    [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2]), rows.map((r) => r[3]), rows.map((r) => r[4])],
  );
  // the periodic refresh (TRAVEL_REFRESH_MS) does the same; run it now
  t.equal(await app.app.travelTimes.refresh(), 12, 'one moving leg per trip');

  const res = await http(app.baseUrl, 'GET', '/v1/zones/default/travel', dispatcher);
  t.equal(res.status, 200);
  t.equal(res.body.legs, 12);
  t.ok(res.body.refreshedAt > 0);
  const hour = new Date(start).getUTCHours();
  const h = res.body.hours.find((x: { hour: number; samples: number }) => x.hour === hour && x.samples > 0) ?? res.body.hours[hour];
  t.ok(['zone-hour', 'zone'].includes(h.level), `learned level ${h.level}`);
  // 12 legs shrunk by 5 prior pseudo-legs: between the prior (1.3, 5.85 m/s) and the data (√2, 5 m/s)
  t.ok(h.detour > 1.3 && h.detour < Math.SQRT2 + 0.01, `detour ${h.detour.toFixed(3)}`);
  t.ok(h.speedMps < 5.85 && h.speedMps > 4.9, `speed over ground ${h.speedMps.toFixed(2)} m/s`);
  t.ok(Math.abs(h.straightMps - h.speedMps / h.detour) < 1e-9);

  // a round's snapshot plans at the calibrated straight-line speed of the hour
  const nowHour = res.body.hours[new Date(clock.now()).getUTCHours()];
  await c.courier('tr-c', 300, 0);
  await c.order('tr-o');
  const { ports } = dispatcherWiring(app.app);
  const { snapshot } = await ports.roundInput(c.zone, clock.now());
  t.equal(snapshot.travel.seconds(a, b), Math.ceil(haversineMeters(a, b) / nowHour.straightMps), 'the round travels at the calibrated speed');
  t.not(snapshot.travel.seconds(a, b), Math.ceil(haversineMeters(a, b) / 4.5), 'not the configured one');

  t.match(await http(app.baseUrl, 'GET', '/v1/zones/nope/travel', dispatcher), { status: 404, body: { code: 'zone_not_found' } });
  t.match(await http(app.baseUrl, 'GET', '/v1/zones/default/travel', app.token('store', 's1')), { status: 403, body: { code: 'forbidden' } });
});
