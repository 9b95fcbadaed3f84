import t from 'tap';
import { createTestContext, buildTestApp } from '../support/index.js';
import { CourierClient, storedRows, waitFor } from './ingest-helpers.js';

const ctx = await createTestContext(t, { HISTORY_FLUSH_MS: '20' });
const { baseUrl, wsUrl, token } = await buildTestApp(ctx);

async function trail(courierId: string, query: string, as = token('dispatcher', 'd1')) {
  const res = await fetch(`${baseUrl}/v1/couriers/${courierId}/trail?${query}`, { headers: { authorization: `Bearer ${as}` } });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

t.test('the trail is a GeoJSON LineString in (lng, lat) order with device timestamps, limited to [from, to)', async (t) => {
  const c = await CourierClient.connect(wsUrl, token('courier', 'tr1'));
  t.teardown(() => c.close());
  const t0 = Date.now() - 60_000;
  const points = Array.from({ length: 6 }, (_, i) => ({ seq: i + 1, ts: t0 + i * 5000, lat: 40.4168 + i * 0.0005, lng: -3.7038 - i * 0.0003 }));
  // Sent out of order: the trail is ordered by device time anyway.
  await c.request({ type: 'locs', points: [...points.slice(3), ...points.slice(0, 3)] });
  await waitFor(() => storedRows(ctx.db, 'tr1'), (r) => r.length === 6);

  const all = await trail('tr1', `from=${t0}&to=${t0 + 60_000}`);
  t.equal(all.status, 200);
  t.equal(all.body.type, 'Feature');
  t.equal(all.body.geometry.type, 'LineString');
  t.same(all.body.geometry.coordinates, points.map((p) => [p.lng, p.lat]));
  t.same(all.body.properties.timestamps, points.map((p) => p.ts));
  t.same(all.body.properties.seqs, [1, 2, 3, 4, 5, 6]);

  // ISO times work too; `to` is exclusive.
  const part = await trail('tr1', `from=${new Date(t0 + 5000).toISOString()}&to=${new Date(t0 + 15_000).toISOString()}`);
  t.same(part.body.properties.seqs, [2, 3]);

  const own = await trail('tr1', `from=${t0}`, token('courier', 'tr1'));
  t.equal(own.status, 200, 'a courier may read its own trail');
  t.equal((await trail('tr1', `from=${t0}`, token('courier', 'tr2'))).status, 403, 'but not another courier’s');
  t.equal((await trail('tr1', `from=${t0}`, token('customer', 'x'))).status, 403);

  const empty = await trail('nobody', `from=${t0}&to=${t0 + 1000}`);
  t.equal(empty.status, 200);
  t.same(empty.body.geometry.coordinates, []);
});

t.test('bad trail ranges get 400 invalid_time_range', async (t) => {
  const now = Date.now();
  for (const q of [`from=${now}&to=${now - 1}`, 'from=yesterday', `from=${now - 3 * 86_400_000}&to=${now}`, `from=${now}&from=${now}`]) {
    const { status, body } = await trail('tr1', q);
    t.equal(status, 400, q);
    t.match(body.code, /^invalid_(time_range|from)$/, q);
  }
});
