import t from 'tap';
import { buildTestApp, createTestContext } from '../support/index.js';
import { DROPOFF, http, orderBody, PICKUP, until } from './orders-helpers.js';
import { BOWTIE, polygonZone, zoneSettingsFixture } from '../support/zones.js';

const zoneBody = (over: Record<string, unknown> = {}) => ({ geometry: polygonZone(PICKUP.lat, PICKUP.lng, 0.05), settings: { ...zoneSettingsFixture(), ...over } });

t.test('zone admin API: create, replace, read, list, delete, roles and validation', async (t) => {
  const ctx = await createTestContext(t, { WEBHOOK_SENDER: 'off' });
  const { baseUrl, token } = await buildTestApp(ctx);
  const admin = token('admin', 'a1');
  const dispatcher = token('dispatcher', 'd1');

  const created = await http(baseUrl, 'PUT', '/v1/zones/mitte', admin, zoneBody());
  t.equal(created.status, 201);
  t.match(created.body, { id: 'mitte', version: 1, updatedBy: 'a1', settings: { name: 'Mitte', fleet: 'own', fee: { currency: 'EUR', base: 2.5 } }, geometry: { type: 'Polygon' } });
  const replaced = await http(baseUrl, 'PUT', '/v1/zones/mitte', admin, zoneBody({ name: 'Mitte 2', hours: undefined, priority: undefined }));
  t.match(replaced, { status: 200, body: { version: 2, settings: { name: 'Mitte 2', priority: 0, hours: [] } } });

  t.match(await http(baseUrl, 'GET', '/v1/zones/mitte', dispatcher), { status: 200, body: { id: 'mitte', settings: { name: 'Mitte 2' } } });
  t.match(await http(baseUrl, 'GET', '/v1/zones', dispatcher), { status: 200, body: { zones: [{ id: 'mitte' }] } });
  t.match(await http(baseUrl, 'GET', '/v1/zones/nope', admin), { status: 404, body: { code: 'zone_not_found' } });

  t.equal((await http(baseUrl, 'PUT', '/v1/zones/x', dispatcher, zoneBody())).status, 403, 'a dispatcher may only read');
  t.equal((await http(baseUrl, 'GET', '/v1/zones', token('store', 's1'))).status, 403);
  t.equal((await http(baseUrl, 'GET', '/v1/zones', undefined)).status, 401);

  t.match(await http(baseUrl, 'PUT', '/v1/zones/bad', admin, { ...zoneBody(), geometry: BOWTIE }), {
    status: 400,
    body: { code: 'invalid_zone', message: /intersects itself/, details: { field: 'geometry.coordinates' } },
  });
  const open = { type: 'Polygon', coordinates: [[[13.3, 52.5], [13.5, 52.5], [13.5, 52.6], [13.3, 52.6]]] };
  t.match(await http(baseUrl, 'PUT', '/v1/zones/bad', admin, { ...zoneBody(), geometry: open }), { status: 400, body: { code: 'invalid_zone', message: /not closed/ } });
  t.match(await http(baseUrl, 'PUT', '/v1/zones/bad', admin, zoneBody({ fleet: 'carrier' })), { status: 400, body: { details: { field: 'carrier' } } });
  t.match(await http(baseUrl, 'PUT', '/v1/zones/bad', admin, zoneBody({ colour: 'red' })), { status: 400, body: { code: 'validation_failed', details: { field: 'settings.colour' } } });
  t.match(await http(baseUrl, 'PUT', '/v1/zones/bad%20id', admin, zoneBody()), { status: 400, body: { code: 'validation_failed' } });
  t.equal((await http(baseUrl, 'GET', '/v1/zones/bad', admin)).status, 404, 'refused zones are not stored');

  t.equal((await http(baseUrl, 'DELETE', '/v1/zones/mitte', admin)).status, 204);
  t.match(await http(baseUrl, 'DELETE', '/v1/zones/mitte', admin), { status: 404, body: { code: 'zone_not_found' } });
});

t.test('orders outside every active zone get 422 naming the point; a change on one node reaches the other', async (t) => {
  const ctx = await createTestContext(t, { WEBHOOK_SENDER: 'off' });
  const a = await buildTestApp(ctx);
  const b = await buildTestApp(ctx);
  const admin = a.token('admin', 'a1');
  const store = a.token('store', 's1');
  const far = { lat: 48.137, lng: 11.575 };

  // no zone stored: the built-in default takes orders anywhere, as before
  t.equal((await http(b.baseUrl, 'POST', '/v1/orders', store, orderBody('anywhere', { dropoff: far }))).status, 201);

  const before = b.app.zones.generation;
  t.equal((await http(a.baseUrl, 'PUT', '/v1/zones/mitte', admin, zoneBody())).status, 201);
  await until(() => b.app.zones.generation > before, 5000, 'node B reloads the zones');
  t.equal(b.app.zones.locate(PICKUP)?.id, 'mitte');
  t.match(await http(b.baseUrl, 'POST', '/v1/orders', store, orderBody('out-drop', { dropoff: far })), {
    status: 422,
    body: { code: 'outside_service_area', details: { point: 'dropoff' } },
  });
  t.match(await http(b.baseUrl, 'POST', '/v1/orders', store, orderBody('out-pick', { pickup: far, dropoff: DROPOFF })), {
    status: 422,
    body: { code: 'outside_service_area', details: { point: 'pickup' } },
  });
  const inside = await http(b.baseUrl, 'POST', '/v1/orders', store, orderBody('in'));
  t.equal(inside.status, 201);
  t.equal(inside.body.promisedBy - inside.body.placedAt, 30 * 60_000, "the zone's express promise minutes");
  t.match(inside.body, { fee: null, quoteId: null });
  t.match(await http(b.baseUrl, 'POST', '/v1/orders', store, orderBody('no-std', { option: 'standard' })), { status: 201 });

  // the zone closes for good (inactive): outside on both nodes
  const gen = b.app.zones.generation;
  t.equal((await http(a.baseUrl, 'PUT', '/v1/zones/mitte', admin, zoneBody({ active: false }))).status, 200);
  await until(() => b.app.zones.generation > gen, 5000, 'node B reloads again');
  t.match(await http(b.baseUrl, 'POST', '/v1/orders', store, orderBody('inactive')), { status: 422, body: { details: { point: 'pickup' } } });

  // an option the zone does not sell, and opening hours (open two to three hours from now, UTC)
  const gen2 = b.app.zones.generation;
  const hh = (h: number) => `${String(h % 24).padStart(2, '0')}:00`;
  const hour = new Date().getUTCHours();
  await http(a.baseUrl, 'PUT', '/v1/zones/mitte', admin, zoneBody({ options: { express: { promiseMin: 25 }, scheduled: { promiseMin: 20 } }, timezone: 'UTC', hours: [{ from: hh(hour + 2), to: hh(hour + 3) }] }));
  await until(() => b.app.zones.generation > gen2, 5000, 'node B reloads once more');
  t.match(await http(b.baseUrl, 'POST', '/v1/orders', store, orderBody('std', { option: 'standard' })), { status: 422, body: { code: 'option_not_offered' } });
  t.match(await http(b.baseUrl, 'POST', '/v1/orders', store, orderBody('closed')), { status: 422, body: { code: 'zone_closed' } });
  const now = Date.now();
  const later = await http(b.baseUrl, 'POST', '/v1/orders', store, orderBody('sched', { option: 'scheduled', window: { from: now + 7_200_000, to: now + 9_000_000 } }));
  t.equal(later.status, 201, 'scheduled orders may be placed while the zone is closed');

  // deleting the last zone brings the default back
  const gen3 = b.app.zones.generation;
  t.equal((await http(a.baseUrl, 'DELETE', '/v1/zones/mitte', admin)).status, 204);
  await until(() => b.app.zones.generation > gen3, 5000, 'node B reloads after the delete');
  t.equal(b.app.zones.locate(far)?.id, 'default');
});
