import t from 'tap';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { acceleratedClock } from '../../src/clock.js';
import { CarrierError, type CarrierUpdate } from '../../src/domain/carrier.js';
import { roundToMinor } from '../../src/domain/fees.js';
import { seededRandom } from '../../src/domain/random.js';
import { haversineMeters } from '../../src/dispatch/travel.js';
import { HttpCarrierAdapter } from '../../src/runtime/carrier-http.js';
import { signature } from '../../src/runtime/webhook-sender.js';
import { CarrierSimulator } from '../../src/sim/carrier/simulator.js';
import { DROPOFF, PICKUP, until } from './orders-helpers.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const SECRET = 'test-carrier-secret-0123456789';

/** A webhook receiver that checks every request through the adapter; answers 503 to the first `failFirst`. */
async function receiver(adapter: () => HttpCarrierAdapter, failFirst = 0) {
  const updates: CarrierUpdate[] = [];
  const refused: string[] = [];
  let seen = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (seen++ < failFirst) return res.writeHead(503).end();
      try {
        updates.push(adapter().parseWebhook(req.headers, Buffer.concat(chunks).toString('utf8'), Date.now()));
        res.writeHead(204).end();
      } catch (err) {
        refused.push((err as CarrierError).code);
        res.writeHead(401).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address() as { port: number };
  return { url: `http://127.0.0.1:${addr.port}/carrier-webhook`, updates, refused, close: () => new Promise<void>((r) => server.close(() => r())) };
}

t.test('the HTTP adapter against the simulator process: quote, idempotent create, signed webhooks in order (retried), cancel', async (t) => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/carrier-sim.ts', '--port', '0', '--clock-speed', '60', '--speed', '50', '--failure-rate', '0', '--position-every-ms', '5000', '--webhook-secret', SECRET, '--api-key', 'k1'],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  t.teardown(() => void child.kill('SIGTERM'));
  const baseUrl = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`carrier:sim exited ${code}`)));
  });
  const adapter = new HttpCarrierAdapter({ name: 'simcarrier', baseUrl, apiKey: 'k1', webhookSecret: SECRET });
  const hook = await receiver(() => adapter, 3);
  t.teardown(hook.close);

  const quote = await adapter.quote({ pickup: PICKUP, dropoff: DROPOFF, size: 1 });
  t.same(quote.fee, { amount: roundToMinor(4 + (1.2 * haversineMeters(PICKUP, DROPOFF)) / 1000, 'EUR'), currency: 'EUR' }, 'the simulator’s price: 4 + 1.2/km');
  t.ok(quote.dropoffEta > quote.pickupEta && quote.expiresAt > Date.now());

  const req = { externalId: 'order-1', quoteId: quote.quoteId, pickup: PICKUP, dropoff: DROPOFF, size: 1, webhookUrl: hook.url };
  const created = await adapter.createDelivery(req);
  t.match(created, { carrier: 'simcarrier', externalId: 'order-1', status: 'created', fee: quote.fee });
  t.equal((await adapter.createDelivery(req)).deliveryId, created.deliveryId, 'idempotent on the external id');

  await until(() => hook.updates.some((u) => u.kind === 'status' && u.status === 'delivered'), 30_000, 'delivered webhook');
  const statuses = hook.updates.filter((u) => u.kind === 'status').map((u) => (u.kind === 'status' ? u.status : ''));
  t.same(statuses, ['created', 'courier_assigned', 'at_pickup', 'picked_up', 'at_dropoff', 'delivered'], 'every status once, in order, after three refused attempts');
  const positions = hook.updates.filter((u) => u.kind === 'location');
  t.ok(positions.length >= 3, `courier positions arrive (${positions.length})`);
  t.ok(positions.every((p) => p.deliveryId === created.deliveryId && p.externalId === 'order-1'));
  t.same(hook.refused, [], 'every webhook carried a valid signature');
  t.equal((await adapter.get(created.deliveryId)).status, 'delivered');

  await t.rejects(adapter.cancel(created.deliveryId), { code: 'not_cancellable', retryable: false }, 'a delivered delivery cannot be cancelled');
  const second = await adapter.createDelivery({ ...req, externalId: 'order-2', quoteId: undefined });
  t.match(await adapter.cancel(second.deliveryId), { status: 'cancelled' });
  await until(() => hook.updates.some((u) => u.kind === 'status' && u.externalId === 'order-2' && u.status === 'cancelled'), 10_000, 'cancelled webhook');

  await t.rejects(new HttpCarrierAdapter({ name: 'x', baseUrl, apiKey: 'wrong', webhookSecret: SECRET }).quote({ pickup: PICKUP, dropoff: DROPOFF, size: 1 }), {
    code: 'unauthorized',
    retryable: false,
  });
  await t.rejects(new HttpCarrierAdapter({ name: 'x', baseUrl: 'http://127.0.0.1:1', apiKey: 'k1', webhookSecret: SECRET }).quote({ pickup: PICKUP, dropoff: DROPOFF, size: 1 }), {
    code: 'unreachable',
    retryable: true,
  });
});

t.test('webhook signatures: forged, stale and tampered bodies are refused', async (t) => {
  const adapter = new HttpCarrierAdapter({ name: 'simcarrier', baseUrl: 'http://unused', apiKey: 'k', webhookSecret: SECRET });
  const body = JSON.stringify({ eventId: 'e1', type: 'delivery.status', deliveryId: 'd1', externalId: 'o1', at: 1, status: 'picked_up' });
  const now = Date.now();
  t.match(adapter.parseWebhook({ 'x-carrier-signature': signature(SECRET, now, body) }, body, now), { kind: 'status', status: 'picked_up', externalId: 'o1' });
  const refused = (headers: Record<string, string>, raw = body) => {
    try {
      adapter.parseWebhook(headers, raw, now);
      return 'accepted';
    } catch (err) {
      return (err as CarrierError).code;
    }
  };
  t.equal(refused({ 'x-carrier-signature': signature('another-secret-0123456789', now, body) }), 'bad_signature', 'forged');
  t.equal(refused({ 'x-carrier-signature': signature(SECRET, now - 600_000, body) }), 'bad_signature', 'a replay ten minutes later');
  t.equal(refused({ 'x-carrier-signature': signature(SECRET, now, body) }, body.replace('picked_up', 'delivered')), 'bad_signature', 'tampered');
  t.equal(refused({}), 'bad_signature', 'unsigned');
});

t.test('the simulator’s failure rate: a failing delivery reports failed before pickup', async (t) => {
  const sim = new CarrierSimulator({
    clock: acceleratedClock(Date.now(), 100),
    name: 'flaky',
    apiKey: 'k',
    webhookSecret: SECRET,
    currency: 'EUR',
    priceBase: 4,
    pricePerKm: 1,
    speedMps: 5,
    failureRate: 1,
    positionEveryMs: 2000,
    random: seededRandom(7),
  });
  const baseUrl = await sim.listen(0);
  t.teardown(() => sim.close());
  const adapter = new HttpCarrierAdapter({ name: 'flaky', baseUrl, apiKey: 'k', webhookSecret: SECRET });
  const hook = await receiver(() => adapter);
  t.teardown(hook.close);
  await adapter.createDelivery({ externalId: 'f1', pickup: PICKUP, dropoff: DROPOFF, size: 1, webhookUrl: hook.url });
  await until(() => hook.updates.some((u) => u.kind === 'status' && u.status === 'failed'), 10_000, 'failed webhook');
  const failed = hook.updates.find((u) => u.kind === 'status' && u.status === 'failed');
  t.match(failed, { reason: 'courier_unavailable' });
  t.notOk(hook.updates.some((u) => u.kind === 'status' && u.status === 'picked_up'), 'never picked up');
});
