import t from 'tap';
import { randomUUID } from 'node:crypto';
import { ManualClock } from '../../src/clock.js';
import { roundToMinor } from '../../src/domain/fees.js';
import { buildTestApp, createTestContext } from '../support/index.js';
import { polygonZone, zoneSettingsFixture } from '../support/zones.js';
import { city } from './dispatch-helpers.js';
import { DROPOFF, http, PICKUP } from './orders-helpers.js';

const MIN = 60_000;
const quoteBody = (extra: Record<string, unknown> = {}) => ({ pickup: PICKUP, dropoff: DROPOFF, items: 2, ...extra });
const ceilMin = (ms: number) => Math.ceil(ms / MIN) * MIN;

t.test('quotes: fee rules, surge, live promise, windows, orders from a quote, expiry, mismatch, authorisation', async (t) => {
  const ctx = await createTestContext(t, { WEBHOOK_SENDER: 'off', QUOTE_TTL_MS: '300000' });
  const clock = new ManualClock(Math.floor(Date.now() / MIN) * MIN);
  const app = await buildTestApp(ctx, { clock });
  const { baseUrl, token } = app;
  const store = token('store', 's1');
  const zone = { geometry: polygonZone(PICKUP.lat, PICKUP.lng, 0.05), settings: zoneSettingsFixture() };
  t.equal((await http(baseUrl, 'PUT', '/v1/zones/mitte', token('admin', 'a1'), zone)).status, 201);

  // no courier anywhere: nothing can be promised, and the quote says why
  const none = await http(baseUrl, 'POST', '/v1/quotes', store, quoteBody());
  t.equal(none.status, 201);
  t.same(none.body.options, []);
  t.same(none.body.unavailable, [
    { option: 'express', reason: 'no_courier' },
    { option: 'standard', reason: 'no_courier' },
  ]);

  const c = city(app, clock, PICKUP, (fn) => t.teardown(fn));
  await c.courier('c1', 500, 0);
  await app.app.quotes.supply.refresh();

  const now = clock.now();
  const windows = [
    { from: now + 60 * MIN, to: now + 90 * MIN },
    { from: now - 90 * MIN, to: now - 60 * MIN },
  ];
  const q = await http(baseUrl, 'POST', '/v1/quotes', store, quoteBody({ windows }));
  t.equal(q.status, 201);
  const baseFee = roundToMinor(2.5 + (0.8 * q.body.distanceM) / 1000, 'EUR');
  t.ok(q.body.distanceM > 1200 && q.body.distanceM < 1350, `trip ${q.body.distanceM} m`);
  t.match(q.body, { zoneId: 'mitte', createdAt: now, expiresAt: now + 5 * MIN });
  // courier 500 m away: ~2 min to the pickup + 2 min service + ~4.5 min trip + 2 min → ~11 min + 5 min margin, below the 30-minute floor
  t.same(q.body.options, [
    { option: 'express', fee: { amount: baseFee, currency: 'EUR' }, promisedBy: ceilMin(now + 30 * MIN), fleet: 'own' },
    { option: 'standard', fee: { amount: baseFee, currency: 'EUR' }, promisedBy: ceilMin(now + 90 * MIN), fleet: 'own' },
    { option: 'scheduled', fee: { amount: baseFee, currency: 'EUR' }, promisedBy: windows[0].to, window: windows[0], fleet: 'own' },
  ]);
  t.same(q.body.unavailable, [{ option: 'scheduled', window: windows[1], reason: 'window_in_past' }]);

  // a late ready time moves the promise past the floor: ready in 40 min → 40 + 2 + ~4.5 + 2 + 5 margin
  const late = await http(baseUrl, 'POST', '/v1/quotes', store, quoteBody({ options: ['express'], readyAt: now + 40 * MIN }));
  const expressLate = late.body.options[0];
  t.ok(expressLate.promisedBy >= now + 53 * MIN && expressLate.promisedBy <= now + 55 * MIN, `promise follows the ready time (${(expressLate.promisedBy - now) / MIN} min)`);
  const tooLate = await http(baseUrl, 'POST', '/v1/quotes', store, quoteBody({ options: ['express'], readyAt: now + 100 * MIN }));
  t.same(tooLate.body.unavailable, [{ option: 'express', reason: 'cannot_meet_promise' }], 'past the option’s maxMin');

  // surge: 3 open orders against 1 free courier → 1 + 0.5 × 2 / 1 = 2 (= the cap)
  for (const ext of ['o1', 'o2', 'o3']) await c.order(ext);
  await app.app.quotes.supply.refresh();
  const surged = await http(baseUrl, 'POST', '/v1/quotes', store, quoteBody({ windows: [windows[0]] }));
  t.equal(surged.body.options[0].fee.amount, roundToMinor((2.5 + (0.8 * surged.body.distanceM) / 1000) * 2, 'EUR'), 'express surges');
  t.equal(surged.body.options[2].fee.amount, baseFee, 'scheduled does not');

  // an order from the quote keeps its fee and promise
  const express = q.body.options[0];
  const orderBody = { externalId: 'from-quote', pickup: PICKUP, dropoff: DROPOFF, items: 2, option: 'express', quoteId: q.body.quoteId };
  clock.advance(2 * MIN);
  const placed = await http(baseUrl, 'POST', '/v1/orders', store, orderBody);
  t.equal(placed.status, 201);
  t.match(placed.body, { fee: express.fee, promisedBy: express.promisedBy, quoteId: q.body.quoteId });
  t.match((await http(baseUrl, 'GET', `/v1/orders/${placed.body.id}`, store)).body, { fee: express.fee, quoteId: q.body.quoteId }, 'stored with the order');
  const replay = await http(baseUrl, 'POST', '/v1/orders', store, orderBody);
  t.match(replay, { status: 200, body: { id: placed.body.id } }, 'placing it again is the same order');
  const again = await http(baseUrl, 'POST', '/v1/orders', store, { ...orderBody, externalId: 'from-quote-2' });
  t.match(again, { status: 200, body: { id: placed.body.id } }, 'also under another external id');
  t.match(await http(baseUrl, 'POST', '/v1/orders', store, { ...orderBody, externalId: 'from-quote-3', items: 3 }), { status: 409, body: { code: 'quote_mismatch' } });

  // a scheduled order from the same kind of quote: the window must be a quoted one
  const q2 = await http(baseUrl, 'POST', '/v1/quotes', store, quoteBody({ windows: [windows[0]] }));
  const sched = { externalId: 'sched', pickup: PICKUP, dropoff: DROPOFF, items: 2, option: 'scheduled', quoteId: q2.body.quoteId };
  t.match(await http(baseUrl, 'POST', '/v1/orders', store, { ...sched, window: { from: windows[0].from, to: windows[0].to + MIN } }), {
    status: 409,
    body: { code: 'quote_mismatch', details: { field: 'window' } },
  });
  t.match(await http(baseUrl, 'POST', '/v1/orders', store, { ...sched, dropoff: PICKUP, window: windows[0] }), { status: 409, body: { code: 'quote_mismatch', details: { field: 'dropoff' } } });
  t.match(await http(baseUrl, 'POST', '/v1/orders', store, { ...sched, window: windows[0] }), { status: 201, body: { promisedBy: windows[0].to, fee: q2.body.options.at(-1).fee } });

  // another store's quote looks absent; an unknown one too
  const q3 = await http(baseUrl, 'POST', '/v1/quotes', store, quoteBody());
  const foreign = { externalId: 'foreign', pickup: PICKUP, dropoff: DROPOFF, items: 2, option: 'express', quoteId: q3.body.quoteId };
  t.match(await http(baseUrl, 'POST', '/v1/orders', token('store', 's2'), foreign), { status: 404, body: { code: 'quote_not_found' } });
  t.match(await http(baseUrl, 'POST', '/v1/orders', store, { ...foreign, quoteId: randomUUID() }), { status: 404, body: { code: 'quote_not_found' } });

  // expiry on the service clock
  clock.advance(5 * MIN);
  t.match(await http(baseUrl, 'POST', '/v1/orders', store, foreign), { status: 409, body: { code: 'quote_expired' } });
  t.equal((await http(baseUrl, 'POST', '/v1/orders', store, orderBody)).status, 200, 'the order placed in time is still answered after expiry');
  // an order without a quote works as before
  t.match(await http(baseUrl, 'POST', '/v1/orders', store, { ...foreign, externalId: 'plain', quoteId: undefined }), { status: 201, body: { fee: null, quoteId: null } });

  // two placements from one quote at once, under different external ids: one order
  const q4 = await http(baseUrl, 'POST', '/v1/quotes', store, quoteBody({ options: ['standard'] }));
  const race = { pickup: PICKUP, dropoff: DROPOFF, items: 2, option: 'standard', quoteId: q4.body.quoteId };
  const [r1, r2] = await Promise.all([
    http(baseUrl, 'POST', '/v1/orders', store, { ...race, externalId: 'race-1' }),
    http(baseUrl, 'POST', '/v1/orders', store, { ...race, externalId: 'race-2' }),
  ]);
  t.same([r1.status, r2.status].sort(), [200, 201], 'one creates, the other gets it');
  t.equal(r1.body.id, r2.body.id, 'the same order');

  // a zone closed now sells only scheduled windows
  const hour = new Date(clock.now()).getUTCHours();
  const hh = (h: number) => `${String(h % 24).padStart(2, '0')}:00`;
  const closedZone = { ...zone, settings: { ...zone.settings, timezone: 'UTC', hours: [{ from: hh(hour + 2), to: hh(hour + 3) }] } };
  t.equal((await http(baseUrl, 'PUT', '/v1/zones/mitte', token('admin', 'a1'), closedZone)).status, 200);
  const closed = await http(baseUrl, 'POST', '/v1/quotes', store, quoteBody());
  t.same(closed.body.unavailable, [
    { option: 'express', reason: 'zone_closed' },
    { option: 'standard', reason: 'zone_closed' },
  ]);
});

t.test('quotes: refusals and authorisation', async (t) => {
  const ctx = await createTestContext(t, { WEBHOOK_SENDER: 'off', SERVICE_AREA: '52.3,13.0,52.7,13.8' });
  const { baseUrl, token } = await buildTestApp(ctx);
  const store = token('store', 's1');
  t.match(await http(baseUrl, 'POST', '/v1/quotes', store, quoteBody({ dropoff: { lat: 48.1, lng: 11.5 } })), {
    status: 422,
    body: { code: 'outside_service_area', details: { point: 'dropoff' } },
  });
  t.match(await http(baseUrl, 'POST', '/v1/quotes', store, quoteBody({ pickup: { lat: 48.1, lng: 11.5 } })), { status: 422, body: { details: { point: 'pickup' } } });
  t.match(await http(baseUrl, 'POST', '/v1/quotes', store, quoteBody()), { status: 201, body: { zoneId: 'default' } }, 'SERVICE_AREA is the default zone');
  const now = Date.now();
  t.match(await http(baseUrl, 'POST', '/v1/quotes', store, quoteBody({ windows: [{ from: now + 2 * MIN, to: now + MIN }] })), {
    status: 400,
    body: { code: 'validation_failed', details: { field: 'windows.0' } },
  });
  t.match(await http(baseUrl, 'POST', '/v1/quotes', store, quoteBody({ options: ['scheduled'] })), { status: 400, body: { details: { field: 'windows' } } });
  t.match(await http(baseUrl, 'POST', '/v1/quotes', store, quoteBody({ items: 0 })), { status: 400, body: { details: { field: 'items' } } });
  t.equal((await http(baseUrl, 'POST', '/v1/quotes', token('courier', 'c1'), quoteBody())).status, 403);
  t.equal((await http(baseUrl, 'POST', '/v1/quotes', token('dispatcher', 'd1'), quoteBody())).status, 403);
  t.equal((await http(baseUrl, 'POST', '/v1/quotes', undefined, quoteBody())).status, 401);
});
