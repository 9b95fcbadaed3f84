/**
 * Records each round's dispatch decisions: the latest per order in Redis at once (one pipeline per
 * round, after the round's commits), the history into Postgres off the hot path — buffered and written
 * in one batch every `flushEveryMs` of the service clock by a background task, so a slow or failed
 * insert never delays a round. The buffer is bounded: when Postgres is away longer than it holds, the
 * oldest decisions are dropped (and counted) rather than the process growing.
 */
import type { BaseLogger } from 'pino';
import type { Pool } from 'pg';
import type { Clock } from '../clock.js';
import type { DispatchDecision } from '../dispatch/decisions.js';
import { DECISIONS_MAX_AGE_MS, insertDecisions, pruneDecisions } from '../store/pg/dispatch-decisions.js';
import type { LatestDecisions } from '../store/redis/dispatch-decisions.js';
import { repeatOnClock, type Periodic } from './periodic.js';

type Logger = Pick<BaseLogger, 'info' | 'warn' | 'error'>;

export interface DecisionRecorderOptions {
  readonly flushEveryMs?: number;
  /** Decisions held for Postgres at most; beyond, the oldest are dropped. */
  readonly maxBuffered?: number;
  /** How often history older than DECISIONS_MAX_AGE_MS is pruned. */
  readonly pruneEveryMs?: number;
}

export class DecisionRecorder {
  private buffer: DispatchDecision[] = [];
  private periodic: Periodic | null = null;
  private flushing: Promise<void> | null = null;
  private lastPruneAt = -Infinity;
  /** Decisions dropped because the buffer was full (Postgres too slow or down). */
  dropped = 0;
  private readonly flushEveryMs: number;
  private readonly maxBuffered: number;
  private readonly pruneEveryMs: number;

  constructor(
    private readonly latest: LatestDecisions,
    private readonly db: Pool,
    private readonly clock: Clock,
    private readonly log: Logger,
    opts: DecisionRecorderOptions = {},
  ) {
    this.flushEveryMs = opts.flushEveryMs ?? 1000;
    this.maxBuffered = opts.maxBuffered ?? 100_000;
    this.pruneEveryMs = opts.pruneEveryMs ?? 3_600_000;
  }

  start(): void {
    this.periodic ??= repeatOnClock(this.clock, this.flushEveryMs, () => this.flush(), (err) => this.log.error({ err }, 'dispatch decision history flush failed'));
  }

  /** Writes the latest decisions to Redis and queues them for the history. */
  async record(decisions: readonly DispatchDecision[]): Promise<void> {
    if (decisions.length === 0) return;
    this.buffer.push(...decisions);
    const over = this.buffer.length - this.maxBuffered;
    if (over > 0) {
      this.buffer.splice(0, over);
      this.dropped += over;
      this.log.warn({ dropped: over }, 'dispatch decision history buffer full: oldest decisions dropped');
    }
    await this.latest.save(decisions);
  }

  /** Writes what is buffered to Postgres now (one at a time); on failure the batch goes back to the buffer. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.buffer.length === 0 && this.clock.now() - this.lastPruneAt < this.pruneEveryMs) return;
    const batch = this.buffer;
    this.buffer = [];
    this.flushing = (async () => {
      try {
        await insertDecisions(this.db, batch);
      } catch (err) {
        this.buffer = batch.concat(this.buffer).slice(-this.maxBuffered);
        throw err;
      }
      const now = this.clock.now();
      if (now - this.lastPruneAt >= this.pruneEveryMs) {
        this.lastPruneAt = now;
        await pruneDecisions(this.db, now - DECISIONS_MAX_AGE_MS);
      }
    })();
    try {
      await this.flushing;
    } finally {
      this.flushing = null;
    }
  }

  /** Stops the schedule and writes what is left. */
  async stop(): Promise<void> {
    await this.periodic?.stop();
    this.periodic = null;
    await this.flush().catch((err: unknown) => this.log.error({ err, pending: this.buffer.length }, 'dispatch decision history: final flush failed'));
  }
}
