/**
 * Delivers the webhook outbox to stores: every order event POSTed as JSON with its event id and order
 * version, signed `X-Dispatchd-Signature: t=<unix ms>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
 *
 * - At least once: a row is marked delivered only after a 2xx; a crash in between re-sends it
 *   (receivers dedupe on `X-Dispatchd-Event-Id`). Rows are written in the order change's transaction,
 *   so nothing is lost across restarts.
 * - Per order, strictly in version order: only the lowest pending version of an order is ever
 *   eligible, and the row is locked (FOR UPDATE SKIP LOCKED) while in flight, so several senders
 *   (processes or nodes) never overtake each other on one order.
 * - Non-2xx / timeouts are retried with exponential backoff and full jitter until
 *   WEBHOOK_RETRY_FOR_MS after the event; then the row is given up (dead) and later versions go on.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import type { BaseLogger } from 'pino';
import type { Clock } from '../clock.js';

type Logger = Pick<BaseLogger, 'debug' | 'info' | 'warn' | 'error'>;

export interface WebhookSenderOptions {
  readonly retryForMs: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  readonly timeoutMs: number;
  readonly pollMs: number;
  /** Rows claimed per round (different orders are sent in parallel). */
  readonly batchSize?: number;
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
}

export interface DeliveryResult {
  readonly delivered: number;
  readonly failed: number;
}

export class WebhookSender {
  private timer: (() => void) | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = true;

  constructor(
    private readonly db: Pool,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: WebhookSenderOptions,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.plan(0);
  }

  private plan(ms: number): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => {
      this.running = this.round()
        .catch((err: unknown) => {
          this.log.error({ err }, 'webhook round failed');
          return { delivered: 0, failed: 0 };
        })
        .then((r) => {
          this.running = null;
          // a full round likely left more work: go again at once
          this.plan(r.delivered + r.failed >= (this.options.batchSize ?? 50) ? 0 : this.options.pollMs);
        });
    }, ms);
  }

  /** Stops polling and waits for the round in flight (its rows are committed or rolled back). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.();
    this.timer = null;
    await this.running;
  }

  /**
   * One round: claim the due head-of-line rows (lowest pending version per order), POST them in
   * parallel, record the outcomes, commit. Holding the row locks for the round is what keeps a second
   * sender from sending the next version of the same order meanwhile.
   */
  async round(): Promise<DeliveryResult> {
    const client = await this.db.connect();
    let result: DeliveryResult = { delivered: 0, failed: 0 };
    try {
      await client.query('BEGIN');
      const now = new Date(this.clock.now());
      const { rows } = await client.query<OutboxRow>(
        `SELECT o.id, o.event_id, o.order_id, o.version, o.payload, o.created_at, o.attempts, s.webhook_url, s.webhook_secret
           FROM webhook_outbox o LEFT JOIN stores s ON s.id = o.store_id
          WHERE o.delivered_at IS NULL AND o.dead_at IS NULL AND o.next_attempt_at <= $1
            AND NOT EXISTS (SELECT 1 FROM webhook_outbox p
                             WHERE p.order_id = o.order_id AND p.store_id = o.store_id AND p.version < o.version
                               AND p.delivered_at IS NULL AND p.dead_at IS NULL)
          ORDER BY o.next_attempt_at, o.id
          LIMIT $2
          FOR UPDATE OF o SKIP LOCKED`,
        [now, this.options.batchSize ?? 50],
      );
      const outcomes = await Promise.all(rows.map((row) => this.deliver(row)));
      for (let i = 0; i < rows.length; i++) await this.record(client, rows[i]!, outcomes[i]!);
      await client.query('COMMIT');
      result = { delivered: outcomes.filter((o) => o.ok).length, failed: outcomes.filter((o) => !o.ok).length };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
    return result;
  }

  private async deliver(row: OutboxRow): Promise<{ ok: boolean; error?: string; gone?: boolean }> {
    if (!row.webhook_url || !row.webhook_secret) return { ok: false, error: 'store has no webhook endpoint any more', gone: true };
    const body = JSON.stringify(row.payload);
    const ts = this.clock.now();
    try {
      const res = await fetch(row.webhook_url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'dispatchd-webhooks/1',
          'x-dispatchd-event-id': row.event_id,
          'x-dispatchd-order-version': String(row.version),
          [SIGNATURE_HEADER]: signature(row.webhook_secret, ts, body),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      // drain the body so the connection can be reused
      await res.arrayBuffer().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return { ok: true };
      return { ok: false, error: `HTTP ${res.status}` };
    } catch (err) {
      return { ok: false, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
    }
  }

  private async record(client: PoolClient, row: OutboxRow, outcome: { ok: boolean; error?: string; gone?: boolean }): Promise<void> {
    const now = this.clock.now();
    const attempts = row.attempts + 1;
    if (outcome.ok) {
      await client.query(`UPDATE webhook_outbox SET delivered_at = $2, attempts = $3, last_error = NULL WHERE id = $1`, [row.id, new Date(now), attempts]);
      this.log.debug({ orderId: row.order_id, version: row.version, attempts }, 'webhook delivered');
      return;
    }
    const delay = backoffMs(attempts, this.options.backoffBaseMs, this.options.backoffMaxMs, this.options.random ?? Math.random);
    const giveUp = outcome.gone || now + delay > row.created_at.getTime() + this.options.retryForMs;
    if (giveUp) {
      await client.query(`UPDATE webhook_outbox SET dead_at = $2, attempts = $3, last_error = $4 WHERE id = $1`, [row.id, new Date(now), attempts, outcome.error]);
      this.log.warn({ orderId: row.order_id, version: row.version, attempts, error: outcome.error }, 'webhook given up');
      return;
    }
    await client.query(`UPDATE webhook_outbox SET next_attempt_at = $2, attempts = $3, last_error = $4 WHERE id = $1`, [
      row.id,
      new Date(now + delay),
      attempts,
      outcome.error,
    ]);
    this.log.info({ orderId: row.order_id, version: row.version, attempts, retryInMs: delay, error: outcome.error }, 'webhook failed, will retry');
  }
}
