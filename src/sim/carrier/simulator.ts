/**
 * A third-party carrier over real HTTP, for tests and the demo (`npm run carrier:sim`): the API of
 * docs/carrier-api.md (quote → delivery under the caller's external id → signed webhooks with statuses
 * and the courier's positions), with its own simulated couriers moving on the injected clock at a
 * configurable speed, a configurable price and failure rate. Webhooks go out in order per delivery and
 * are retried with backoff until answered 2xx, so a receiver that restarts loses nothing.
 * State is in memory, and with `stateFile` also on disk (rewritten after every change, atomically):
 * a simulator restarted on the same file goes on with its deliveries and unsent webhooks, its clock
 * resuming where it stopped (`loadCarrierSimState`).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Clock } from '../../clock.js';
import type { CarrierPlace, CarrierStatus } from '../../domain/carrier.js';
import { roundToMinor } from '../../domain/fees.js';
import { haversineMeters } from '../../dispatch/travel.js';
import { backoffMs, signature } from '../../runtime/webhook-sender.js';

export interface CarrierSimOptions {
  readonly clock: Clock;
  readonly name: string;
  /** Callers must send `Authorization: Bearer <apiKey>`. */
  readonly apiKey: string;
  /** Webhooks are signed with it (`X-Carrier-Signature: t=<ms>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`). */
  readonly webhookSecret: string;
  readonly currency: string;
  readonly priceBase: number;
  readonly pricePerKm: number;
  readonly speedMps: number;
  /** Probability that a delivery fails before pickup (courier_unavailable). */
  readonly failureRate: number;
  /** Service-clock ms between two courier positions. */
  readonly positionEveryMs: number;
  readonly random: () => number;
  readonly quoteTtlMs?: number;
  /** Persist deliveries and pending webhooks here (JSON); absent: memory only. */
  readonly stateFile?: string;
}

/** What a state file holds: the simulator clock when written, and every delivery with its pending webhooks. */
interface SimState {
  readonly now: number;
  readonly deliveries: Delivery[];
}

/** The clock time a state file was written at (resume the clock from it), or null without a file. */
export function loadCarrierSimState(file: string): { now: number } | null {
  if (!existsSync(file)) return null;
  const state = JSON.parse(readFileSync(file, 'utf8')) as SimState;
  return { now: state.now };
}

interface Delivery {
  id: string;
  externalId: string;
  pickup: CarrierPlace;
  dropoff: CarrierPlace;
  size: number;
  readyAt: number;
  webhookUrl: string;
  status: CarrierStatus;
  fee: { amount: number; currency: string };
  courierId: string;
  /** Where the courier starts, and when each milestone happens (planned at creation). */
  start: { lat: number; lng: number };
  plan: { assignedAt: number; atPickup: number; pickedUp: number; atDropoff: number; delivered: number; failAt: number | null };
  createdAt: number;
  /** Webhook bodies not yet acknowledged, oldest first. */
  outbox: { body: string; attempts: number; dueAt: number }[];
}

const ASSIGN_AFTER_MS = 30_000;
const HANDOVER_MS = 60_000;

export class CarrierSimulator {
  private readonly deliveries = new Map<string, Delivery>();
  private readonly byExternal = new Map<string, string>();
  private readonly quotes = new Map<string, { fee: Delivery['fee']; expiresAt: number }>();
  private timer: (() => void) | null = null;
  private sending = false;
  readonly server: Server;

  constructor(private readonly opts: CarrierSimOptions) {
    this.server = createServer((req, res) => void this.handle(req, res));
    if (opts.stateFile && existsSync(opts.stateFile)) {
      const state = JSON.parse(readFileSync(opts.stateFile, 'utf8')) as SimState;
      for (const d of state.deliveries) {
        // retries are due at once after a restart
        for (const o of d.outbox) o.dueAt = 0;
        this.deliveries.set(d.id, d);
        this.byExternal.set(d.externalId, d.id);
      }
    }
  }

  /** Writes the state file (temp file + rename, so a crash never leaves half a file). */
  private save(): void {
    const file = this.opts.stateFile;
    if (!file) return;
    const state: SimState = { now: this.opts.clock.now(), deliveries: [...this.deliveries.values()] };
    writeFileSync(`${file}.tmp`, JSON.stringify(state));
    renameSync(`${file}.tmp`, file);
  }

  async listen(port: number, host = '127.0.0.1'): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(port, host, resolve));
    const addr = this.server.address();
    if (!addr || typeof addr === 'string') throw new Error('carrier simulator did not bind a TCP port');
    this.tick();
    return `http://${host}:${addr.port}`;
  }

  async close(): Promise<void> {
    this.timer?.();
    this.timer = null;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private price(pickup: CarrierPlace, dropoff: CarrierPlace) {
    return { amount: roundToMinor(this.opts.priceBase + (this.opts.pricePerKm * haversineMeters(pickup, dropoff)) / 1000, this.opts.currency), currency: this.opts.currency };
  }

  private travelMs(a: { lat: number; lng: number }, b: { lat: number; lng: number }): number {
    return Math.ceil((haversineMeters(a, b) / this.opts.speedMps) * 1000);
  }

  /** A courier 1–3 km from the pickup and the times it will reach each stop. */
  private plan(pickup: CarrierPlace, dropoff: CarrierPlace, readyAt: number, now: number) {
    const angle = this.opts.random() * 2 * Math.PI;
    const km = 1 + this.opts.random() * 2;
    const start = { lat: pickup.lat + (km / 111.32) * Math.sin(angle), lng: pickup.lng + (km / (111.32 * Math.cos((pickup.lat * Math.PI) / 180))) * Math.cos(angle) };
    const assignedAt = now + ASSIGN_AFTER_MS;
    const atPickup = assignedAt + this.travelMs(start, pickup);
    const pickedUp = Math.max(atPickup + HANDOVER_MS, readyAt);
    const atDropoff = pickedUp + this.travelMs(pickup, dropoff);
    const failAt = this.opts.random() < this.opts.failureRate ? assignedAt + Math.floor((atPickup - assignedAt) / 2) : null;
    return { start, plan: { assignedAt, atPickup, pickedUp, atDropoff, delivered: atDropoff + HANDOVER_MS, failAt } };
  }

  // ---- HTTP

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    try {
      if (req.headers.authorization !== `Bearer ${this.opts.apiKey}`) return send(401, { code: 'unauthorized', message: 'bad API key' });
      const url = new URL(req.url ?? '/', 'http://carrier');
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : {};
      const now = this.opts.clock.now();
      if (req.method === 'POST' && url.pathname === '/v1/quotes') return send(200, this.quote(body, now));
      if (req.method === 'POST' && url.pathname === '/v1/deliveries') {
        const { delivery, created } = this.create(body, now);
        if (created) this.save();
        return send(created ? 201 : 200, this.view(delivery));
      }
      const m = /^\/v1\/deliveries\/([^/]+)(\/cancel)?$/.exec(url.pathname);
      const d = m ? this.deliveries.get(m[1]) : undefined;
      if (m && !d) return send(404, { code: 'delivery_not_found', message: 'no such delivery' });
      if (d && req.method === 'GET' && !m![2]) return send(200, this.view(d));
      if (d && req.method === 'POST' && m![2]) {
        if (['picked_up', 'at_dropoff', 'delivered', 'failed'].includes(d.status)) return send(409, { code: 'not_cancellable', message: `delivery is ${d.status}` });
        if (d.status !== 'cancelled') {
          this.setStatus(d, 'cancelled', now, 'cancelled_by_client');
          this.save();
        }
        return send(200, this.view(d));
      }
      return send(404, { code: 'not_found', message: 'no such route' });
    } catch (err) {
      return send(400, { code: 'bad_request', message: (err as Error).message });
    }
  }

  private quote(body: Record<string, unknown>, now: number) {
    const { pickup, dropoff, readyAt } = places(body);
    const fee = this.price(pickup, dropoff);
    const { plan } = this.plan(pickup, dropoff, readyAt ?? now, now);
    const quoteId = randomUUID();
    const expiresAt = now + (this.opts.quoteTtlMs ?? 300_000);
    this.quotes.set(quoteId, { fee, expiresAt });
    return { quoteId, fee, pickupEta: plan.atPickup, dropoffEta: plan.delivered, expiresAt };
  }

  private create(body: Record<string, unknown>, now: number): { delivery: Delivery; created: boolean } {
    const externalId = String(body.externalId ?? '');
    if (!externalId) throw new Error('externalId is required');
    const known = this.byExternal.get(externalId);
    if (known) return { delivery: this.deliveries.get(known)!, created: false };
    const { pickup, dropoff, readyAt } = places(body);
    const webhookUrl = String(body.webhookUrl ?? '');
    if (!/^https?:\/\//.test(webhookUrl)) throw new Error('webhookUrl is required');
    const quoted = typeof body.quoteId === 'string' ? this.quotes.get(body.quoteId) : undefined;
    const fee = quoted && quoted.expiresAt > now ? quoted.fee : this.price(pickup, dropoff);
    const { start, plan } = this.plan(pickup, dropoff, readyAt ?? now, now);
    const d: Delivery = {
      id: randomUUID(),
      externalId,
      pickup,
      dropoff,
      size: Number(body.size ?? 1),
      readyAt: readyAt ?? now,
      webhookUrl,
      status: 'created',
      fee,
      courierId: `${this.opts.name}-courier-${Math.floor(this.opts.random() * 1e6)}`,
      start,
      plan,
      createdAt: now,
      outbox: [],
    };
    this.deliveries.set(d.id, d);
    this.byExternal.set(externalId, d.id);
    this.setStatus(d, 'created', now);
    return { delivery: d, created: true };
  }

  private view(d: Delivery) {
    return { id: d.id, externalId: d.externalId, status: d.status, fee: d.fee, pickupEta: d.plan.atPickup, dropoffEta: d.plan.delivered, courierId: d.status === 'created' ? null : d.courierId };
  }

  // ---- simulation

  private tick(): void {
    this.timer = this.opts.clock.setTimeout(() => {
      const now = this.opts.clock.now();
      for (const d of this.deliveries.values()) this.advance(d, now);
      this.save();
      void this.flush();
      this.tick();
    }, this.opts.positionEveryMs);
  }

  private advance(d: Delivery, now: number): void {
    if (['delivered', 'failed', 'cancelled'].includes(d.status)) return;
    const p = d.plan;
    if (p.failAt !== null && now >= p.failAt) return this.setStatus(d, 'failed', p.failAt, 'courier_unavailable');
    const steps: [CarrierStatus, number][] = [
      ['courier_assigned', p.assignedAt],
      ['at_pickup', p.atPickup],
      ['picked_up', p.pickedUp],
      ['at_dropoff', p.atDropoff],
      ['delivered', p.delivered],
    ];
    const order = steps.map(([s]) => s);
    for (const [status, at] of steps) {
      if (now >= at && order.indexOf(status) > order.indexOf(d.status as (typeof order)[number])) this.setStatus(d, status, at);
    }
    if (d.status === 'created' || d.status === 'delivered') return;
    const pos = this.position(d, now);
    const eta = ['courier_assigned', 'at_pickup'].includes(d.status) ? p.atPickup : p.delivered;
    this.enqueue(d, { type: 'delivery.location', at: now, courier: { id: d.courierId, lat: pos.lat, lng: pos.lng }, eta });
  }

  /** Straight lines between the stops at constant speed. */
  private position(d: Delivery, now: number): { lat: number; lng: number } {
    const p = d.plan;
    const lerp = (a: { lat: number; lng: number }, b: { lat: number; lng: number }, t0: number, t1: number) => {
      const f = t1 > t0 ? Math.min(1, Math.max(0, (now - t0) / (t1 - t0))) : 1;
      return { lat: a.lat + (b.lat - a.lat) * f, lng: a.lng + (b.lng - a.lng) * f };
    };
    if (now < p.atPickup) return lerp(d.start, d.pickup, p.assignedAt, p.atPickup);
    if (now < p.pickedUp) return { lat: d.pickup.lat, lng: d.pickup.lng };
    return lerp(d.pickup, d.dropoff, p.pickedUp, p.atDropoff);
  }

  private setStatus(d: Delivery, status: CarrierStatus, at: number, reason?: string): void {
    d.status = status;
    this.enqueue(d, { type: 'delivery.status', at, status, ...(reason ? { reason } : {}) });
  }

  private enqueue(d: Delivery, event: Record<string, unknown>): void {
    const body = JSON.stringify({ eventId: randomUUID(), deliveryId: d.id, externalId: d.externalId, ...event });
    d.outbox.push({ body, attempts: 0, dueAt: 0 });
  }

  /** Sends each delivery's oldest pending webhook, in order; a failure waits (backoff) and blocks later ones. */
  private async flush(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      await Promise.all(
        [...this.deliveries.values()].map(async (d) => {
          while (d.outbox.length && d.outbox[0].dueAt <= Date.now()) {
            const next = d.outbox[0];
            if (await this.post(d.webhookUrl, next.body)) {
              d.outbox.shift();
              this.save();
            } else {
              next.attempts++;
              next.dueAt = Date.now() + backoffMs(next.attempts, 200, 10_000, this.opts.random);
              return;
            }
          }
        }),
      );
    } finally {
      this.sending = false;
    }
  }

  private async post(url: string, body: string): Promise<boolean> {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-carrier-signature': signature(this.opts.webhookSecret, Date.now(), body) },
        body,
        signal: AbortSignal.timeout(5000),
      });
      return res.ok;
    } catch {
      return false;
    }
  }
}

function place(v: unknown, field: string): CarrierPlace {
  const p = v as { lat?: unknown; lng?: unknown; address?: unknown } | undefined;
  if (!p || typeof p.lat !== 'number' || typeof p.lng !== 'number') throw new Error(`${field} needs lat and lng`);
  return { lat: p.lat, lng: p.lng, ...(typeof p.address === 'string' ? { address: p.address } : {}) };
}

function places(body: Record<string, unknown>) {
  return { pickup: place(body.pickup, 'pickup'), dropoff: place(body.dropoff, 'dropoff'), readyAt: typeof body.readyAt === 'number' ? body.readyAt : undefined };
}
