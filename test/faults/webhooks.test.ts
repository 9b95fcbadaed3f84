/**
 * Webhooks through a receiver outage and a killed service: the receiver is down (connection refused)
 * while events pile up, comes back slow, and the service is killed -9 mid-delivery and restarted. Every
 * event arrives (at least once), per order in version order, signed, with no event id missing.
 *
 * Time is scaled down by config: backoff 50 ms doubling to 400 ms, a 500 ms delivery timeout (so the
 * killed process's claim lease, timeout + 5 s, ends soon), outage ~3 s instead of a minute.
 */
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import t from 'tap';
import { SIGNATURE_HEADER, verifySignature } from '../../src/runtime/webhook-sender.js';
import { faultEnv, freePort, kill9, sleep, startDispatchd, until } from './harness.js';
import { http, orderBody } from '../integration/orders-helpers.js';

const SECRET = 'fault-suite-webhook-secret';
const ORDERS = 8;
const SERVICE_ENV = {
  DISPATCH: 'off',
  WEBHOOK_ALLOW_PRIVATE: 'true',
  WEBHOOK_POLL_MS: '20',
  WEBHOOK_BACKOFF_BASE_MS: '50',
  WEBHOOK_BACKOFF_MAX_MS: '400',
  WEBHOOK_TIMEOUT_MS: '500',
  WEBHOOK_RETRY_FOR_MS: '300000',
};

interface Delivery {
  orderId: string;
  version: number;
  eventId: string;
  signed: boolean;
}

/** A receiver on a fixed port that can be taken down (connections refused) and brought back. */
class Receiver {
  readonly deliveries: Delivery[] = [];
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  constructor(readonly port: number) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  async up(delayMs: number): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const body = JSON.parse(raw) as { orderId: string; version: number; eventId: string };
        setTimeout(() => {
          this.deliveries.push({ ...body, signed: verifySignature(SECRET, String(req.headers[SIGNATURE_HEADER] ?? ''), raw) });
          res.writeHead(200).end();
        }, delayMs);
      });
    });
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.server = server;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

t.test('receiver down, then service killed with deliveries pending: every event delivered once or more, in version order', async (t) => {
  const env = await faultEnv(t);
  const port = await freePort();
  const receiver = new Receiver(await freePort());
  t.teardown(() => receiver.down());
  let svc = await startDispatchd(env, port, SERVICE_ENV);
  const store = env.token('store', 's-hook');
  t.equal((await http(svc.address, 'PUT', '/v1/stores/s-hook/webhook', store, { url: receiver.url, secret: SECRET })).status, 200);

  // The receiver is down (nothing listens) while each order makes three events: placed, ready, cancelled.
  const ids: string[] = [];
  for (let i = 0; i < ORDERS; i++) {
    const id = (await http<{ id: string }>(svc.address, 'POST', '/v1/orders', store, orderBody(`hook-${i}`))).body.id;
    ids.push(id);
    t.equal((await http(svc.address, 'POST', `/v1/orders/${id}/ready`, store, {})).status, 200);
    t.equal((await http(svc.address, 'POST', `/v1/orders/${id}/cancel`, store, {})).status, 200);
  }
  const outbox = async () =>
    (await env.ctx.db.query<{ pending: number; failed: number }>('select count(*) filter (where delivered_at is null)::int as pending, coalesce(sum(attempts), 0)::int as failed from webhook_outbox')).rows[0];
  await until('delivery attempts fail while the receiver is down', async () => (await outbox()).failed >= ORDERS * 2, 10_000);
  await sleep(1500);
  t.equal((await outbox()).pending, ORDERS * 3, 'nothing delivered while the receiver is down');

  // Back, but slow: the kill lands mid-delivery.
  await receiver.up(40);
  await until('some deliveries arrive', () => receiver.deliveries.length >= ORDERS, 20_000);
  await kill9(svc);
  const pendingAtKill = (await outbox()).pending;
  t.ok(pendingAtKill > 0, `killed with ${pendingAtKill} deliveries pending`);

  svc = await startDispatchd(env, port, SERVICE_ENV);
  await until('the outbox drains after the restart', async () => (await outbox()).pending === 0, 40_000);

  for (const id of ids) {
    const versions = receiver.deliveries.filter((d) => d.orderId === id).map((d) => d.version);
    t.same([...new Set(versions)], [1, 2, 3], `order ${id}: every version delivered`);
    t.ok(
      versions.every((v, i) => i === 0 || v >= versions[i - 1]!),
      `order ${id}: in version order (${versions.join(',')})`,
    );
  }
  const events = (await env.ctx.db.query<{ id: string }>('select event_id::text as id from webhook_outbox')).rows.map((r) => r.id);
  t.equal(events.length, ORDERS * 3);
  const received = new Set(receiver.deliveries.map((d) => d.eventId));
  t.same(events.filter((e) => !received.has(e)), [], 'no event id lost');
  t.ok(receiver.deliveries.every((d) => d.signed), 'every delivery carries a valid signature');
  t.comment(`${receiver.deliveries.length} requests for ${events.length} events (at-least-once: re-sends after the kill are allowed)`);

  svc.child.kill('SIGTERM');
  t.same(await svc.exited, { code: 0, signal: null });
});
