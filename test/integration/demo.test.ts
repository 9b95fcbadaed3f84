/**
 * `npm run demo` as a user runs it: the process prints the console URL with a dispatcher token, the
 * simulated city places orders and couriers deliver them through the service, and Ctrl-C (SIGINT)
 * stops everything cleanly: exit code 0 and the demo's database removed.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { serviceUrls } from '../support/context.js';
import { repoRoot } from '../unit/sim/support/fixtures.js';
import { http, until } from './orders-helpers.js';

t.setTimeout(240_000);

t.test('the demo serves a simulated city until Ctrl-C', async (t) => {
  const { redisUrl, serverDatabaseUrl } = serviceUrls();
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

  child.kill('SIGINT');
  t.equal(await exited, 0, 'Ctrl-C exits cleanly');
  t.match(out, /stopping the demo/);
  const admin = new pg.Client({ connectionString: serverDatabaseUrl });
  await admin.connect();
  const left = await admin.query('select 1 from pg_database where datname = $1', [database]);
  await admin.end();
  t.equal(left.rowCount, 0, `database ${database} removed`);
});
