import t from 'tap';
import WebSocket from 'ws';
import { buildTestApp, createTestContext } from '../support/index.js';
import { parseMetrics, sample } from '../support/prometheus.js';
import { CourierClient, storedRows, waitFor } from './ingest-helpers.js';
import { http, orderBody, until } from './orders-helpers.js';

/** Opens a courier socket and reports how the server closed it (code) and what it sent before. */
function wsOutcome(url: string, token: string): Promise<{ code: number; reason: string; messages: string[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
    const messages: string[] = [];
    ws.on('message', (m) => messages.push(m.toString()));
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString(), messages }));
    ws.once('error', reject);
  });
}

async function metrics(baseUrl: string, token: string): Promise<Map<string, number>> {
  const res = await fetch(`${baseUrl}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  if (res.status !== 200) throw new Error(`metrics answered ${res.status}`);
  return parseMetrics(await res.text());
}

const point = (seq: number, extra: Record<string, unknown> = {}) => ({
  seq,
  ts: Date.now() - 1000 + seq,
  lat: 52.52 + seq * 1e-5,
  lng: 13.405,
  acc: 5,
  ...extra,
});

t.test('a measured limit (heap over OVERLOAD_MAX_HEAP_MB=1): writes 503 overloaded, reads and health answer, new sockets close 1013', async (t) => {
  // The production signal as measured by @fastify/under-pressure: any live heap exceeds 1 MB.
  const ctx = await createTestContext(t, { OVERLOAD_MAX_HEAP_MB: '1', OVERLOAD_SAMPLE_MS: '10', OVERLOAD_RETRY_AFTER_MS: '2500' });
  const { app, baseUrl, wsUrl, token } = await buildTestApp(ctx);
  await until(() => app.overload.isOverloaded(), 5000, 'the first heap sample');
  const store = token('store', 'store-1');
  const dispatcher = token('dispatcher', 'd-1');

  const res = await fetch(`${baseUrl}/v1/orders`, {
    method: 'POST',
    headers: { authorization: `Bearer ${store}`, 'content-type': 'application/json' },
    body: JSON.stringify(orderBody('o-1')),
  });
  t.equal(res.status, 503);
  t.equal(res.headers.get('retry-after'), '3', 'Retry-After: OVERLOAD_RETRY_AFTER_MS rounded up to seconds');
  const body = (await res.json()) as { code: string; details: { reason: string; retryAfterS: number } };
  t.equal(body.code, 'overloaded');
  t.same(body.details, { reason: 'heap', retryAfterS: 3 });
  const { rows } = await ctx.db.query<{ n: number }>('select count(*)::int as n from orders');
  t.equal(rows[0].n, 0, 'the shed write stored nothing');

  t.equal((await http(baseUrl, 'GET', '/v1/orders', store)).status, 200, 'reads answer');
  t.equal((await fetch(`${baseUrl}/healthz`)).status, 200, '/healthz answers');
  t.equal((await fetch(`${baseUrl}/readyz`)).status, 200, '/readyz answers');

  const refused = await wsOutcome(`${wsUrl}/v1/courier`, token('courier', 'c-1'));
  t.equal(refused.code, 1013, 'a new socket is closed with 1013 (try again later)');
  t.equal(refused.reason, 'overloaded');
  t.same(refused.messages, []);
  t.notOk(app.courierConnections.isConnected('c-1'), 'the route handler never ran');

  const m = await metrics(baseUrl, dispatcher);
  t.equal(sample(m, 'overloaded'), 1);
  t.equal(sample(m, 'overload_shed_total', { kind: 'http' }), 1);
  t.equal(sample(m, 'overload_shed_total', { kind: 'ws_upgrade' }), 1);
  t.equal(sample(m, 'overload_shed_total', { kind: 'location_frame' }), 0);
});

t.test('location frames on an open socket are answered overloaded, not stored, and accepted when sent again', async (t) => {
  const ctx = await createTestContext(t);
  const { app, baseUrl, wsUrl, token } = await buildTestApp(ctx);
  const courier = await CourierClient.connect(wsUrl, token('courier', 'c-2'));
  t.teardown(() => courier.close());
  t.same(await courier.request({ type: 'loc', ...point(1) }), { type: 'ack', seq: 1, rejected: [] });

  // A pressure source as the ingest backlog is one: injected, so the switch is deterministic.
  let pressed = true;
  app.overload.addSource('test', () => pressed);
  t.same(await courier.request({ type: 'loc', ...point(2) }), { type: 'overloaded', retryAfterMs: 1000, seq: 2, seqs: [2] });
  t.same(await courier.request({ type: 'locs', points: [point(4), point(3), { seq: 5 }] }), {
    type: 'overloaded',
    retryAfterMs: 1000,
    seq: 5,
    seqs: [4, 3, 5],
  });
  // the HTTP path polls the same source
  await until(async () => (await http(baseUrl, 'POST', '/v1/orders', token('store', 's-2'), orderBody('o-2'))).status === 503, 5000, 'HTTP shed');
  const refused = await wsOutcome(`${wsUrl}/v1/courier`, token('courier', 'c-3'));
  t.equal(refused.code, 1013);
  t.ok(app.courierConnections.isConnected('c-2'), 'the open socket stays open');

  const during = await metrics(baseUrl, token('dispatcher', 'd-2'));
  t.equal(sample(during, 'overload_shed_total', { kind: 'location_frame' }), 2);
  t.equal(sample(during, 'overload_shed_points_total'), 4);
  t.equal(sample(during, 'ingest_points_accepted_total'), 1, 'shed points are not counted as accepted');

  pressed = false;
  // The app sends the shed points again: accepted, so they were neither stored nor remembered as seen.
  t.same(await courier.request({ type: 'locs', points: [point(2), point(3), point(4)] }), { type: 'ack', seq: 4, rejected: [] });
  const rows = await waitFor(() => storedRows(ctx.db, 'c-2'), (r) => r.length >= 4);
  t.same(
    rows.map((r) => r.seq),
    [1, 2, 3, 4],
    'each point stored once, none while shed',
  );
  t.equal((await http(baseUrl, 'POST', '/v1/orders', token('store', 's-2'), orderBody('o-3'))).status, 201, 'writes accepted again');
});

t.test('shed answers of one socket are held and leave together, in order; an ack after the overload ends comes after them', async (t) => {
  const ctx = await createTestContext(t);
  const { app, wsUrl, token } = await buildTestApp(ctx);
  const courier = await CourierClient.connect(wsUrl, token('courier', 'c-9'));
  t.teardown(() => courier.close());
  let pressed = true;
  app.overload.addSource('test', () => pressed);
  // the overload ends right after the server shed the 4th frame: deterministic, whatever the timing
  const count = app.overload.count.bind(app.overload);
  let sheds = 0;
  app.overload.count = (kind, points) => {
    count(kind, points);
    if (kind === 'location_frame' && ++sheds === 4) pressed = false;
  };
  const sentAt = Date.now();
  for (let seq = 1; seq <= 5; seq++) courier.send({ type: 'loc', ...point(seq) });
  t.same(await courier.next(), { type: 'overloaded', retryAfterMs: 1000, seq: 1, seqs: [1] });
  t.ok(Date.now() - sentAt < 1000, 'held for at most a fraction of the retry delay');
  for (let seq = 2; seq <= 4; seq++) t.same(await courier.next(), { type: 'overloaded', retryAfterMs: 1000, seq, seqs: [seq] });
  t.same(await courier.next(), { type: 'ack', seq: 5, rejected: [] }, 'the ack does not overtake the held answers');
});

t.test('the Redis write backlog is a pressure source read on every frame (OVERLOAD_MAX_FLUSH_BACKLOG)', async (t) => {
  const ctx = await createTestContext(t, { OVERLOAD_MAX_FLUSH_BACKLOG: '2' });
  const { app } = await buildTestApp(ctx);
  const ingest = app.locationIngest;
  await ingest.attach('c-4');
  t.equal(ingest.backlog(), 0);
  t.notOk(app.overload.isOverloaded());
  const result = ingest.ingest('c-4', [point(1), point(2), point(3)]);
  if (result instanceof Promise) throw new Error('state was loaded: the result is synchronous');
  t.equal(ingest.backlog(), 3, 'accepted points wait for this turn’s write');
  t.ok(app.overload.isOverloaded(), 'more than 2 points not yet in Redis: overloaded');
  t.equal(app.overload.sourceOver(), 'flush_backlog');
  await result.stored!.promise();
  await until(() => ingest.backlog() === 0, 2000, 'the write to finish');
  t.notOk(app.overload.isOverloaded(), 'written: no longer overloaded');
});
