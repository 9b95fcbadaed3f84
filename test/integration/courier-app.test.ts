/**
 * `npm run courier`: the terminal courier app, driven through its stdin like a person at the
 * keyboard: it connects, streams positions, shows a hand-made offer, accepts it, and reports the
 * order through to delivery.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import t from 'tap';
import { buildTestApp, createTestContext } from '../support/index.js';
import { http, orderBody } from './orders-helpers.js';
import { nextStatus, stepToward } from '../../src/cli/courier-app.js';

const ctx = await createTestContext(t, { WEBHOOK_SENDER: 'off' });

t.test('stepToward moves at most the step and lands on the target', async (t) => {
  const a = { lat: 52.52, lng: 13.4 };
  const b = { lat: 52.53, lng: 13.4 };
  const s = stepToward(a, b, 100);
  t.ok(Math.abs((s.lat - a.lat) * 111_320 - 100) < 0.01, '100 m north');
  t.same(stepToward(a, b, 5000), b, 'closer than a step: at the target');
  t.equal(nextStatus({ id: 'o', status: 'at_dropoff' } as never, '1234')?.proof?.pin, '1234', 'a PIN goes with delivered');
  t.equal(nextStatus({ id: 'o', status: 'delivered' } as never), null, 'nothing after delivered');
});

t.test('the app connects, shows an offer, accepts it and reports the order to delivery from stdin', async (t) => {
  const { app, baseUrl, token } = await buildTestApp(ctx);
  const courierId = 'c-cli';
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/courier-app.ts', '--token', token('courier', courierId), '--url', baseUrl, '--from', '52.50,13.38', '--interval', '100'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const lines: string[] = [];
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    for (const w of [...waiters]) if (w.re.test(line)) waiters.splice(waiters.indexOf(w), 1) && w.resolve(line);
  });
  const printed = (re: RegExp, timeoutMs = 15_000) =>
    new Promise<string>((resolve, reject) => {
      const seen = lines.find((l) => re.test(l));
      if (seen) return resolve(seen);
      const timer = setTimeout(() => reject(new Error(`no line ${re} within ${timeoutMs} ms; got:\n${lines.join('\n')}\n${stderr}`)), timeoutMs);
      waiters.push({ re, resolve: (l) => (clearTimeout(timer), resolve(l)) });
    });
  const type = (cmd: string) => child.stdin.write(`${cmd}\n`);

  await printed(/^connected to /);
  await printed(/^task: none/);
  // it streams positions: the courier becomes known to the service
  const dispatcher = token('dispatcher', 'd1');
  const ok = async () => (await http(baseUrl, 'GET', `/v1/couriers/${courierId}`, dispatcher)).status === 200;
  for (let i = 0; i < 100 && !(await ok()); i++) await new Promise((r) => setTimeout(r, 50));
  t.ok(await ok(), 'the service knows the courier position');

  const placed = await http<{ id: string }>(baseUrl, 'POST', '/v1/orders', token('store', 's-cli'), orderBody('cli-1'));
  t.equal(placed.status, 201);
  const offered = await http<{ offerId: string }>(baseUrl, 'POST', `/v1/orders/${placed.body.id}/offer`, dispatcher, { courierId });
  t.equal(offered.status, 201);
  t.match(await printed(/^offer /), offered.body.offerId, 'the offer is shown');

  type('a');
  await printed(new RegExp(`^accepted ${offered.body.offerId}`));
  await printed(/^task: cli-1 assigned/);
  for (const status of ['arrived_pickup', 'picked_up', 'arrived_dropoff', 'delivered']) {
    type('n');
    await printed(new RegExp(`^${status}: cli-1`));
  }
  t.equal((await app.orders.repo.get(placed.body.id))?.status, 'delivered');
  type('n');
  await printed(/^nothing to report/);
  type('q');
  t.equal(await exited, 0, 'q quits cleanly');
});
