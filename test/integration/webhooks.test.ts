/**
 * Webhooks to a real receiver on loopback: signed, retried with backoff, given up after the configured
 * time, never lost and never out of version order per order — also when the sender process is killed
 * mid-delivery and restarted.
 */
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { backoffMs, signature, verifySignature } from '../../src/runtime/webhook-sender.js';
import { createTestContext, buildTestApp } from '../support/index.js';
import { http, orderBody, webhookReceiver, until } from './orders-helpers.js';

const SECRET = 'sixteen-chars-or-more-secret';

t.test('signature and backoff', async (t) => {
  const sig = signature(SECRET, 1700000000000, '{"a":1}');
  t.match(sig, /^t=1700000000000,v1=[0-9a-f]{64}$/);
  t.ok(verifySignature(SECRET, sig, '{"a":1}'));
  t.notOk(verifySignature(SECRET, sig, '{"a":2}'), 'a changed body fails');
  t.notOk(verifySignature('another-secret-of-length', sig, '{"a":1}'), 'another secret fails');
  t.notOk(verifySignature(SECRET, 'garbage', '{"a":1}'));
  // full jitter between half and all of an exponentially growing cap
  t.equal(backoffMs(1, 1000, 60_000, () => 0), 500);
  t.equal(backoffMs(1, 1000, 60_000, () => 1), 1000);
  t.equal(backoffMs(4, 1000, 60_000, () => 1), 8000);
  t.equal(backoffMs(20, 1000, 60_000, () => 1), 60_000, 'capped');
  t.equal(backoffMs(3, 1000, 60_000, () => 0.5), 3000);
});

t.test('non-2xx answers are retried with backoff; after the retry window the row is given up and later versions go on', async (t) => {
  const ctx = await createTestContext(t, {
    // the receiver is on loopback
    WEBHOOK_ALLOW_PRIVATE: 'true',
    WEBHOOK_POLL_MS: '10',
    WEBHOOK_BACKOFF_BASE_MS: '20',
    WEBHOOK_BACKOFF_MAX_MS: '40',
    WEBHOOK_RETRY_FOR_MS: '3000',
  });
  const attempts = new Map<string, number>();
  const hooks = await webhookReceiver((r) => {
    const key = `${r.body.orderId}:${r.body.version}`;
    const n = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, n);
    if (r.body.externalId === 'dead') return r.body.version === 1 ? 500 : 200;
    return n <= 2 ? 503 : 200; // every event of the other order fails twice first
  });
  t.teardown(hooks.close);
  const { baseUrl, token } = await buildTestApp(ctx);
  const store = token('store', 's1');
  await http(baseUrl, 'PUT', '/v1/stores/s1/webhook', store, { url: hooks.url, secret: SECRET });

  const id = (await http(baseUrl, 'POST', '/v1/orders', store, orderBody('retry'))).body.id;
  await http(baseUrl, 'POST', `/v1/orders/${id}/ready`, store, {});
  await http(baseUrl, 'POST', `/v1/orders/${id}/cancel`, store, {});
  await until(() => hooks.received.filter((r) => r.body.orderId === id).length === 3, 10_000, 'retried deliveries');
  t.same(hooks.received.filter((r) => r.body.orderId === id).map((r) => r.body.version), [1, 2, 3], 'in version order despite failures');
  // the sender commits a round after its POSTs returned
  await until(async () => (await ctx.db.query('SELECT 1 FROM webhook_outbox WHERE order_id = $1 AND delivered_at IS NULL', [id])).rowCount === 0, 5000, 'rows marked');
  const rows = (await ctx.db.query('SELECT version, attempts, delivered_at FROM webhook_outbox WHERE order_id = $1 ORDER BY version', [id])).rows;
  t.same(rows.map((r) => r.attempts), [3, 3, 3], 'two failures, then success');
  t.ok(rows.every((r) => r.delivered_at !== null));

  const dead = (await http(baseUrl, 'POST', '/v1/orders', store, orderBody('dead'))).body.id;
  await http(baseUrl, 'POST', `/v1/orders/${dead}/ready`, store, {});
  await until(async () => {
    const r = await ctx.db.query('SELECT dead_at FROM webhook_outbox WHERE order_id = $1 AND version = 1', [dead]);
    return r.rows[0]?.dead_at !== null;
  }, 10_000, 'version 1 given up');
  await until(() => hooks.received.some((r) => r.body.orderId === dead && r.body.version === 2), 10_000, 'version 2 goes on');
  t.notOk(hooks.received.some((r) => r.body.orderId === dead && r.body.version === 1), 'the given-up event was never accepted');
  const last = (await ctx.db.query('SELECT last_error, attempts FROM webhook_outbox WHERE order_id = $1 AND version = 1', [dead])).rows[0];
  t.equal(last.last_error, 'HTTP 500');
  t.ok(last.attempts >= 2, `retried ${last.attempts} times before giving up`);

  // without an endpoint, new events are not queued at all
  t.equal((await http(baseUrl, 'DELETE', '/v1/stores/s1/webhook', store)).status, 204);
  t.equal((await http(baseUrl, 'GET', '/v1/stores/s1/webhook', store)).body.code, 'webhook_not_found');
  const quiet = (await http(baseUrl, 'POST', '/v1/orders', store, orderBody('quiet'))).body.id;
  t.equal((await ctx.db.query('SELECT count(*)::int AS n FROM webhook_outbox WHERE order_id = $1', [quiet])).rows[0].n, 0);
});

t.test('a slow endpoint delays only its own events: no transaction or row lock is held while a POST is in flight', async (t) => {
  const ctx = await createTestContext(t, { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_POLL_MS: '10', WEBHOOK_TIMEOUT_MS: '20000' });
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const slowArrived: number[] = [];
  const slow = await webhookReceiver(async (r) => {
    slowArrived.push(r.body.version);
    await gate;
    return 200;
  });
  const fast = await webhookReceiver();
  t.teardown(async () => {
    release();
    await slow.close();
    await fast.close();
  });
  const { baseUrl, token } = await buildTestApp(ctx);
  const slowStore = token('store', 'slow');
  const fastStore = token('store', 'fast');
  await http(baseUrl, 'PUT', '/v1/stores/slow/webhook', slowStore, { url: slow.url, secret: SECRET });
  await http(baseUrl, 'PUT', '/v1/stores/fast/webhook', fastStore, { url: fast.url, secret: SECRET });

  const a = (await http(baseUrl, 'POST', '/v1/orders', slowStore, orderBody('slow-1'))).body.id as string;
  await http(baseUrl, 'POST', `/v1/orders/${a}/ready`, slowStore, {});
  await until(() => slowArrived.length === 1, 5000, 'the slow endpoint got version 1');

  const fastStart = Date.now();
  const b = (await http(baseUrl, 'POST', '/v1/orders', fastStore, orderBody('fast-1'))).body.id as string;
  await http(baseUrl, 'POST', `/v1/orders/${b}/ready`, fastStore, {});
  await http(baseUrl, 'POST', `/v1/orders/${b}/cancel`, fastStore, {});
  await until(() => fast.received.filter((r) => r.body.orderId === b).length === 3, 5000, 'the other store got all its events meanwhile');
  t.same(fast.received.map((r) => r.body.version), [1, 2, 3], 'in version order');
  t.comment(`the other store's 3 events were delivered ${Date.now() - fastStart} ms after the first was placed, while the slow POST hung`);

  const idleInTx = await ctx.db.query(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'`,
  );
  t.equal(idleInTx.rows[0].n, 0, 'no transaction is held open across the slow POST');
  const client = await ctx.db.connect();
  try {
    await client.query('BEGIN');
    const locked = await client.query('SELECT locked_until FROM webhook_outbox WHERE order_id = $1 AND version = 1 FOR UPDATE NOWAIT', [a]);
    t.ok(locked.rows[0].locked_until, 'the in-flight row is leased, not row-locked');
  } finally {
    await client.query('ROLLBACK');
    client.release();
  }
  t.same(slowArrived, [1], 'the slow order\'s version 2 waits for version 1');

  release();
  await until(() => slow.received.filter((r) => r.body.orderId === a).length === 2, 5000, 'the slow order goes on once answered');
  t.same(slow.received.map((r) => r.body.version), [1, 2]);
  t.same(slowArrived, [1, 2], 'each sent once');
});

t.test('kill and restart the sender with events pending: none lost, none out of order per order', async (t) => {
  const ctx = await createTestContext(t, { WEBHOOK_SENDER: 'off', WEBHOOK_ALLOW_PRIVATE: 'true' });
  // slow, sometimes failing receiver so the kill lands mid-delivery
  let calls = 0;
  const hooks = await webhookReceiver(async () => {
    calls++;
    await new Promise((r) => setTimeout(r, 40));
    return calls % 5 === 0 ? 502 : 200;
  });
  t.teardown(hooks.close);
  const { app, baseUrl, token } = await buildTestApp(ctx);
  const store = token('store', 's1');
  await http(baseUrl, 'PUT', '/v1/stores/s1/webhook', store, { url: hooks.url, secret: SECRET });

  // 6 orders × 3 events = 18 pending deliveries, written while no sender runs
  const ids: string[] = [];
  for (let i = 0; i < 6; i++) {
    const id = (await http(baseUrl, 'POST', '/v1/orders', store, orderBody(`kill-${i}`))).body.id as string;
    ids.push(id);
    await http(baseUrl, 'POST', `/v1/orders/${id}/ready`, store, {});
    await app.orders.offers.cancel(id, { role: 'store', id: 's1' }, 'test');
  }
  const pending = async () => (await ctx.db.query('SELECT count(*)::int AS n FROM webhook_outbox WHERE delivered_at IS NULL')).rows[0].n as number;
  t.equal(await pending(), 18);

  const start = async (): Promise<ChildProcess> => {
    const child = spawn(process.execPath, ['--import=tsx', new URL('./webhooks-sender-child.ts', import.meta.url).pathname], {
      env: { ...process.env, DATABASE_URL: ctx.databaseUrl },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => d.toString().includes('started') && resolve());
      child.once('exit', (code) => reject(new Error(`sender exited early (${code})`)));
    });
    return child;
  };
  const kill = (child: ChildProcess) =>
    new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });

  let child = await start();
  await until(async () => (await pending()) <= 12, 20_000, 'some deliveries committed before the kill');
  await kill(child);
  const before = await pending();
  t.ok(before > 0, `killed with ${before} deliveries pending`);
  child = await start();
  t.teardown(() => kill(child));
  await until(async () => (await pending()) === 0, 30_000, 'outbox drained after restart');

  for (const id of ids) {
    const versions = hooks.received.filter((r) => r.body.orderId === id).map((r) => r.body.version as number);
    t.same([...new Set(versions)], [1, 2, 3], `order ${id}: every version delivered`);
    t.ok(versions.every((v, i) => i === 0 || v >= versions[i - 1]!), `order ${id}: never out of order (${versions.join(',')})`);
  }
  const events = (await ctx.db.query('SELECT count(*)::int AS n FROM order_events')).rows[0].n;
  t.equal(new Set(hooks.received.map((r) => r.body.eventId)).size, events, 'one distinct event id per order event');
});

t.test('SSRF: webhook URLs on internal addresses are refused by default, at registration and at delivery', async (t) => {
  const ctx = await createTestContext(t, { WEBHOOK_POLL_MS: '10', WEBHOOK_BACKOFF_BASE_MS: '10', WEBHOOK_BACKOFF_MAX_MS: '20' });
  t.equal(ctx.config.webhookAllowPrivate, false, 'private targets are refused unless configured');
  const hooks = await webhookReceiver();
  t.teardown(hooks.close);
  const { baseUrl, token } = await buildTestApp(ctx);
  const store = token('store', 's1');
  const port = new URL(hooks.url).port;
  const internal = [
    hooks.url,
    `http://localhost:${port}/hook`,
    'http://169.254.169.254/latest/meta-data/',
    'http://[fd00:ec2::254]/latest/meta-data/',
    'http://100.100.100.200/latest/meta-data/',
    'http://10.1.2.3/hook',
    'http://172.16.0.1/hook',
    'https://192.168.1.1/hook',
    'http://0.0.0.0:8080/hook',
    'http://[::1]/hook',
    'http://[::ffff:127.0.0.1]/hook',
    'http://[fe80::1]/hook',
    'http://2130706433/hook',
    'http://0x7f.1/hook',
  ];
  for (const url of internal) {
    const res = await http(baseUrl, 'PUT', '/v1/stores/s1/webhook', store, { url, secret: SECRET });
    t.match(res, { status: 422, body: { code: 'webhook_target_forbidden', details: { field: 'url' } } }, `${url} refused`);
  }
  t.equal((await http(baseUrl, 'GET', '/v1/stores/s1/webhook', store)).status, 404, 'nothing was registered');
  t.match(await http(baseUrl, 'PUT', '/v1/stores/s1/webhook', store, { url: 'http://user:pw@93.184.215.14/hook', secret: SECRET }), {
    status: 400,
    body: { code: 'validation_failed' },
  });
  const ok = await http(baseUrl, 'PUT', '/v1/stores/s1/webhook', store, { url: 'https://93.184.215.14/hook', secret: SECRET });
  t.equal(ok.status, 200, 'a public address is accepted');

  // an endpoint that turns internal after registration (DNS rebinding, rows from before this check)
  // is refused again at delivery, on the address actually connected to
  await ctx.db.query('UPDATE stores SET webhook_url = $2 WHERE id = $1', ['s1', `http://localhost:${port}/hook`]);
  const id = (await http(baseUrl, 'POST', '/v1/orders', store, orderBody('ssrf-1'))).body.id as string;
  await until(async () => {
    const r = await ctx.db.query('SELECT attempts, last_error FROM webhook_outbox WHERE order_id = $1', [id]);
    return r.rows[0]?.attempts >= 2;
  }, 5000, 'delivery attempted and refused');
  const row = (await ctx.db.query('SELECT last_error, delivered_at FROM webhook_outbox WHERE order_id = $1', [id])).rows[0];
  t.match(row.last_error, /^webhook_target_forbidden/, 'recorded as a refused target');
  t.equal(row.delivered_at, null);
  t.equal(hooks.received.length, 0, 'the internal receiver was never called');
});
