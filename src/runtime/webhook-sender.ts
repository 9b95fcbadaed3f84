/**
 * Delivers the webhook outbox to stores: every order event POSTed as JSON with its event id and order
 * version, signed `X-Dispatchd-Signature: t=<unix ms>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
 *
 * - At least once: a row is marked delivered only after a 2xx; a crash in between re-sends it
 *   (receivers dedupe on `X-Dispatchd-Event-Id`). Rows are written in the order change's transaction,
 *   so nothing is lost across restarts.
 * - No head-of-line blocking across stores: a row is claimed with a lease (`locked_until`, `lease`;
 *   one short committed UPDATE), delivered with no transaction or row lock held, and its outcome
 *   recorded on its own. Every delivery runs independently (up to `maxInFlight` at once), so a slow
 *   endpoint only delays its own events.
 * - Per order, strictly in version order: only the lowest pending version of an order is ever
 *   eligible, and it stays pending while leased, so several senders (processes or nodes) never
 *   overtake each other on one order. The lease outlasts the POST timeout, so a claim is only taken
 *   over (after its sender died) once its POST can no longer arrive; the late outcome of a lost
 *   lease is ignored.
 * - Only to public addresses unless WEBHOOK_ALLOW_PRIVATE (checked on the address connected to, see
 *   webhook-target.ts); a refused target is a failed attempt like any other.
 * - Non-2xx / timeouts are retried with exponential backoff and full jitter until
 *   WEBHOOK_RETRY_FOR_MS after the event; then the row is given up (dead) and later versions go on.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Pool } from 'pg';
import type { BaseLogger } from 'pino';
import type { Clock } from '../clock.js';
import { postWebhook, WebhookTargetError } from './webhook-target.js';

type Logger = Pick<BaseLogger, 'debug' | 'info' | 'warn' | 'error'>;

export interface WebhookSenderOptions {
  readonly retryForMs: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  readonly timeoutMs: number;
  readonly pollMs: number;
  /** Most rows claimed at once (different orders are sent in parallel); 50 by default. */
  readonly batchSize?: number;
  /** How long a claim is exclusive; default timeoutMs + 5 s. Must exceed timeoutMs (see above). */
  readonly leaseMs?: number;
  /** Deliver to private, loopback and link-local addresses too (WEBHOOK_ALLOW_PRIVATE; see webhook-target.ts). */
  readonly allowPrivateTargets?: boolean;
  /** Injected for deterministic tests; Math.random by default. */
  readonly random?: () => number;
}

export const SIGNATURE_HEADER = 'x-dispatchd-signature';

export function signature(secret: string, timestamp: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${mac}`;
}

/** Checks a signature header (what a store's receiver does); constant-time compare. */
export function verifySignature(secret: string, header: string, body: string): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (!m) return false;
  const expected = signature(secret, Number(m[1]), body).split('v1=')[1]!;
  const a = Buffer.from(expected, 'hex');
  const b = Buffer.from(m[2]!, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Delay before attempt n+1 (n ≥ 1 attempts made): full jitter over an exponentially growing cap. */
export function backoffMs(attempts: number, base: number, max: number, random: () => number): number {
  const cap = Math.min(max, base * 2 ** Math.min(30, attempts - 1));
  return Math.max(1, Math.floor(cap / 2 + (random() * cap) / 2));
}

interface OutboxRow {
  id: string;
  event_id: string;
  order_id: string;
  version: number;
  payload: unknown;
  created_at: Date;
  attempts: number;
  webhook_url: string | null;
  webhook_secret: string | null;
  lease: string;
}

type Outcome = { ok: boolean; error?: string; gone?: boolean };

export interface DeliveryResult {
  readonly delivered: number;
  readonly failed: number;
}

/** Plain counters of delivery attempts on this node, read by the metrics at scrape time. */
export interface WebhookStats {
  delivered: number;
  /** Failed attempts that will be retried. */
  failed: number;
  /** Failed attempts that were given up. */
  dead: number;
}

export class WebhookSender {
  readonly stats: WebhookStats = { delivered: 0, failed: 0, dead: 0 };
  private timer: (() => void) | null = null;
  private claiming: Promise<unknown> | null = null;
  private readonly inFlight = new Set<Promise<unknown>>();
  private stopped = true;
  /** A delivery finished while a claim ran: claim again right after (the next version may be due). */
  private again = false;

  constructor(
    private readonly db: Pool,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: WebhookSenderOptions,
  ) {
    const lease = this.leaseMs;
    if (!(lease > options.timeoutMs)) throw new Error(`webhook lease (${lease} ms) must exceed the POST timeout (${options.timeoutMs} ms)`);
  }

  private get leaseMs(): number {
    return this.options.leaseMs ?? this.options.timeoutMs + 5000;
  }

  private get capacity(): number {
    return this.options.batchSize ?? 50;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.plan(0);
  }

  private plan(ms: number): void {
    if (this.stopped) return;
    this.timer?.();
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      this.claiming = this.dispatch()
        .catch((err: unknown) => {
          this.log.error({ err }, 'webhook claim failed');
          return 0;
        })
        .then(() => {
          this.claiming = null;
          // a delivery finished meanwhile: its order's next version may be due now. (When all
          // capacity is in use, each finishing delivery kicks a claim anyway.)
          const soon = this.again;
          this.again = false;
          this.plan(soon ? 0 : this.options.pollMs);
        });
    }, ms);
  }

  /** A delivery finished: the order's next version may be due now, do not wait for the poll. */
  private kick(): void {
    if (this.stopped) return;
    if (this.claiming) this.again = true;
    else this.plan(0);
  }

  /** Stops claiming and waits for the deliveries in flight to record their outcome. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.();
    this.timer = null;
    await this.claiming;
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  /** Claims what is due (up to the free capacity) and starts each delivery on its own; returns how many. */
  private async dispatch(): Promise<number> {
    const free = this.capacity - this.inFlight.size;
    if (free <= 0) return 0;
    const rows = await this.claim(free);
    for (const row of rows) {
      const p = this.deliverAndRecord(row)
        .catch((err: unknown) => this.log.error({ err, orderId: row.order_id, version: row.version }, 'webhook outcome not recorded'))
        .finally(() => {
          this.inFlight.delete(p);
          this.kick();
        });
      this.inFlight.add(p);
    }
    return rows.length;
  }

  /**
   * One round, waiting for every delivery it started (tests and tools; the running sender does not
   * wait like this).
   */
  async round(): Promise<DeliveryResult> {
    const rows = await this.claim(this.capacity);
    const outcomes = await Promise.all(rows.map((row) => this.deliverAndRecord(row)));
    return { delivered: outcomes.filter((o) => o.ok).length, failed: outcomes.filter((o) => !o.ok).length };
  }

  /**
   * Leases the due head-of-line rows (lowest pending version per order and store) in one committed
   * statement; SKIP LOCKED only keeps two concurrent claims from waiting on each other.
   */
  private async claim(limit: number): Promise<OutboxRow[]> {
    const now = this.clock.now();
    const lease = randomUUID();
    const { rows } = await this.db.query<OutboxRow>(
      `WITH due AS (
         SELECT o.order_id, o.id FROM webhook_outbox o
          WHERE o.delivered_at IS NULL AND o.dead_at IS NULL AND o.next_attempt_at <= $1
            AND (o.locked_until IS NULL OR o.locked_until <= $1)
            AND NOT EXISTS (SELECT 1 FROM webhook_outbox p
                             WHERE p.order_id = o.order_id AND p.store_id = o.store_id AND p.version < o.version
                               AND p.delivered_at IS NULL AND p.dead_at IS NULL)
          ORDER BY o.next_attempt_at, o.id
          LIMIT $2
          FOR UPDATE OF o SKIP LOCKED)
       UPDATE webhook_outbox o SET locked_until = $3, lease = $4
         FROM due
        WHERE o.order_id = due.order_id AND o.id = due.id
       RETURNING o.id, o.event_id, o.order_id, o.version, o.payload, o.created_at, o.attempts, o.lease,
                 (SELECT s.webhook_url FROM stores s WHERE s.id = o.store_id) AS webhook_url,
                 (SELECT s.webhook_secret FROM stores s WHERE s.id = o.store_id) AS webhook_secret`,
      [new Date(now), limit, new Date(now + this.leaseMs), lease],
    );
    return rows;
  }

  private async deliverAndRecord(row: OutboxRow): Promise<Outcome> {
    const outcome = await this.deliver(row);
    await this.record(row, outcome);
    return outcome;
  }

  private async deliver(row: OutboxRow): Promise<Outcome> {
    if (!row.webhook_url || !row.webhook_secret) return { ok: false, error: 'store has no webhook endpoint any more', gone: true };
    const body = JSON.stringify(row.payload);
    const ts = this.clock.now();
    try {
      const status = await postWebhook(row.webhook_url, body, {
        headers: {
          'content-type': 'application/json',
          'user-agent': 'dispatchd-webhooks/1',
          'x-dispatchd-event-id': row.event_id,
          'x-dispatchd-order-version': String(row.version),
          [SIGNATURE_HEADER]: signature(row.webhook_secret, ts, body),
        },
        timeoutMs: this.options.timeoutMs,
        allowPrivate: this.options.allowPrivateTargets ?? false,
      });
      if (status >= 200 && status < 300) return { ok: true };
      return { ok: false, error: `HTTP ${status}` };
    } catch (err) {
      if (err instanceof WebhookTargetError) return { ok: false, error: `${err.code}: ${err.message}` };
      return { ok: false, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
    }
  }

  /** Records the outcome and releases the lease, only while this claim still holds it. */
  private async record(row: OutboxRow, outcome: Outcome): Promise<void> {
    const now = this.clock.now();
    const attempts = row.attempts + 1;
    const held = (n: number | null) => {
      if (!n) this.log.warn({ orderId: row.order_id, version: row.version }, 'webhook lease lost before the outcome was recorded; the new holder decides');
    };
    // order_id is the outbox's distribution column (sql/0013): each outcome is a one-shard update
    const mine = `order_id = $1 AND id = $2 AND lease = $3`;
    if (outcome.ok) {
      const r = await this.db.query(`UPDATE webhook_outbox SET delivered_at = $4, attempts = $5, last_error = NULL, locked_until = NULL, lease = NULL WHERE ${mine}`, [
        row.order_id,
        row.id,
        row.lease,
        new Date(now),
        attempts,
      ]);
      held(r.rowCount);
      this.stats.delivered++;
      this.log.debug({ orderId: row.order_id, version: row.version, attempts }, 'webhook delivered');
      return;
    }
    const delay = backoffMs(attempts, this.options.backoffBaseMs, this.options.backoffMaxMs, this.options.random ?? Math.random);
    const giveUp = outcome.gone || now + delay > row.created_at.getTime() + this.options.retryForMs;
    if (giveUp) {
      const r = await this.db.query(`UPDATE webhook_outbox SET dead_at = $4, attempts = $5, last_error = $6, locked_until = NULL, lease = NULL WHERE ${mine}`, [
        row.order_id,
        row.id,
        row.lease,
        new Date(now),
        attempts,
        outcome.error,
      ]);
      held(r.rowCount);
      this.stats.dead++;
      this.log.warn({ orderId: row.order_id, version: row.version, attempts, error: outcome.error }, 'webhook given up');
      return;
    }
    const r = await this.db.query(
      `UPDATE webhook_outbox SET next_attempt_at = $4, attempts = $5, last_error = $6, locked_until = NULL, lease = NULL WHERE ${mine}`,
      [row.order_id, row.id, row.lease, new Date(now + delay), attempts, outcome.error],
    );
    held(r.rowCount);
    this.stats.failed++;
    this.log.info({ orderId: row.order_id, version: row.version, attempts, retryInMs: delay, error: outcome.error }, 'webhook failed, will retry');
  }
}
