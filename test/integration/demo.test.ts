/**
 * `npm run demo` as a user runs it: the process prints the console URL with a dispatcher token and
 * tracking page URLs for the first orders, the simulated city places orders and couriers deliver them
 * through the service — also an order a dispatcher assigned and pinned by hand — and Ctrl-C (SIGINT)
 * stops everything cleanly: exit code 0 and the demo's database removed.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { serviceUrls } from '../support/context.js';
import { repoRoot } from '../unit/sim/support/fixtures.js';
import { ensureWebBuilt } from '../../scripts/build-web.mjs';
import { http, until } from './orders-helpers.js';

t.setTimeout(240_000);

t.test('the demo serves a simulated city until Ctrl-C', async (t) => {
  const { redisUrl, serverDatabaseUrl } = serviceUrls();
  // `npm run demo` builds the pages first (package.json); the test runs the CLI itself
  await ensureWebBuilt();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'src/cli/demo.ts'), '--instance', join(repoRoot, 'test/fixtures/mdrp/synthetic'), '--speed', '60', '--port', '0'],
    {
      cwd: repoRoot,
      env: { ...process.env, REDIS_URL: redisUrl, DATABASE_URL: serverDatabaseUrl, JWT_SECRET: randomBytes(32).toString('hex'), LOG_LEVEL: 'error' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });

  await until(() => /console:\s+\S+/.test(out) && /data:/.test(out), 60_000, 'the console URL');
  const url = new URL(/console:\s+(\S+)/.exec(out)![1]!);
  t.equal(url.pathname, '/console');
  const token = url.searchParams.get('token')!;
  const database = /database (\S+),/.exec(out)![1]!;
  const base = url.origin;

  // orders flow through the service and couriers deliver them
  await until(
    async () => {
      const res = await http(base, 'GET', '/v1/orders?status=delivered&limit=5', token);
      return res.status === 200 && (res.body.orders as unknown[]).length > 0;
    },
    120_000,
    'a delivered order',
  );
  const delivered = (await http(base, 'GET', '/v1/orders?status=delivered&limit=1', token)).body.orders[0];
  t.ok(delivered.courierId, 'delivered by a courier');
  const courier = await http(base, 'GET', `/v1/couriers/${delivered.courierId}`, token);
  t.equal(courier.status, 200, 'the courier streams its position');

  await until(() => /track:\s+\S+/.test(out), 30_000, 'a tracking page URL');
  const page = await fetch(/track:\s+(\S+)/.exec(out)![1]!);
  t.equal(page.status, 200, 'the printed tracking page opens');
  t.match(page.headers.get('content-type'), /text\/html/);

  // assign & pin an open order to a simulated courier by hand: the courier app executes it
  const pinned = await poll(async () => pinOne(base, token), 60_000, 'an order pinned to a courier');
  t.pass(`order ${pinned.orderId} pinned to ${pinned.courierId}`);
  const final = await poll(
    async () => {
      const o = (await http(base, 'GET', `/v1/orders/${pinned.orderId}`, token)).body;
      return o.status === 'delivered' ? o : null;
    },
    90_000,
    'the pinned order delivered',
  );
  t.match(final, { status: 'delivered', courierId: pinned.courierId, pinned: true }, 'delivered by the courier the dispatcher chose');

  child.kill('SIGINT');
  t.equal(await exited, 0, 'Ctrl-C exits cleanly');
  t.match(out, /stopping the demo/);
  const admin = new pg.Client({ connectionString: serverDatabaseUrl });
  await admin.connect();
  const left = await admin.query('select 1 from pg_database where datname = $1', [database]);
  await admin.end();
  t.equal(left.rowCount, 0, `database ${database} removed`);
});

/** Pins the first open order it can to an online courier near its pickup; null when none worked this time. */
async function pinOne(base: string, token: string): Promise<{ orderId: string; courierId: string } | null> {
  for (const status of ['placed', 'ready', 'offered']) {
    const orders = (await http(base, 'GET', `/v1/orders?status=${status}&limit=5`, token)).body.orders as { id: string; pickup: { lat: number; lng: number } }[];
    for (const o of orders) {
      const near = (await http(base, 'GET', `/v1/couriers/nearby?lat=${o.pickup.lat}&lng=${o.pickup.lng}&radius_m=20000&limit=5`, token)).body.couriers as { courierId: string; status: string }[];
      const c = near.find((x) => x.status === 'free') ?? near[0];
      if (!c) continue;
      const res = await http(base, 'POST', `/v1/orders/${o.id}/assign`, token, { courierId: c.courierId });
      if (res.status === 200) return { orderId: o.id, courierId: c.courierId };
    }
  }
  return null;
}

/** The first non-null value of `read`, polled every half second. */
async function poll<T>(read: () => Promise<T | null>, timeoutMs: number, what: string): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await read();
    if (v !== null) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
