/**
 * WORKERS > 1: after a worker is replaced, the courier sockets spread over the workers again.
 *
 * When a worker crashes, its couriers reconnect at once — to the survivors, the only workers listening —
 * and the replacement starts empty. The cluster primary hands new connections out round-robin, so merely
 * closing sockets on a busy worker would send half of them straight back to it. Instead:
 *
 * 1. the primary (worker-pool.ts), once the replacement listens, asks every worker how many courier
 *    sockets it holds (IPC), and tells each the total and the worker count;
 * 2. a worker above its fair share (⌈total / workers⌉) closes the excess with 1012 (service restart:
 *    reconnect), one at a time, spread over WORKER_REBALANCE_SPREAD_MS so the reconnects (each reloads the
 *    courier's state from Redis and re-sends task and offer frames) do not arrive as a storm;
 * 3. while it does (and a few seconds after), that worker refuses new courier upgrades with 1013 (try again
 *    later) as long as it is at or above its share, so a reconnecting courier that the primary hands back
 *    to it tries again and lands on a worker with room — the replacement.
 *
 * Nothing is lost: the courier app reconnects on 1012/1013 and resends the points it has no ack for (a point
 * stored but not acked is answered `duplicate_seq` the second time). Counted in `ws_rebalance_total`.
 */
/** The one log method the rebalancer uses (pino's, or Fastify's logger). */
interface InfoLog {
  info(obj: object, msg: string): void;
}

/** Close code asking a client to reconnect (RFC 6455 registry: "Service Restart"). */
export const WS_SERVICE_RESTART = 1012;
/** Close code of a refused upgrade while rebalancing (same as overload: "Try Again Later"). */
export const WS_REBALANCE_REFUSED = 1013;

/** IPC, primary → worker: how many courier sockets do you hold? Answered with a SocketsReply of the same id. */
export interface SocketsQuery {
  type: 'dispatchd:courier-sockets?';
  id: number;
}
export interface SocketsReply {
  type: 'dispatchd:courier-sockets';
  id: number;
  sockets: number;
}
/** IPC, primary → worker: the courier sockets of all workers, and how many workers share them. */
export interface RebalanceRequest {
  type: 'dispatchd:rebalance';
  total: number;
  workers: number;
}

export function isSocketsQuery(m: unknown): m is SocketsQuery {
  return (m as SocketsQuery | null)?.type === 'dispatchd:courier-sockets?';
}
export function isSocketsReply(m: unknown): m is SocketsReply {
  return (m as SocketsReply | null)?.type === 'dispatchd:courier-sockets';
}
export function isRebalanceRequest(m: unknown): m is RebalanceRequest {
  return (m as RebalanceRequest | null)?.type === 'dispatchd:rebalance';
}

/** The most sockets one worker should hold: ⌈total / workers⌉. */
export function fairShare(total: number, workers: number): number {
  return Math.ceil(total / Math.max(1, workers));
}

/** Refusals go on this long after the last planned close, for the last reconnects to find a place. */
export const HOLD_GRACE_MS = 3000;

/** The courier sockets of this worker, as the rebalancer sees them. */
export interface RebalanceTarget {
  /** Open courier sockets. */
  count(): number;
  /** Closes one courier socket with `code`; false when there was none to close. */
  closeOne(code: number, reason: string): boolean;
}

export interface RebalanceCounters {
  /** Courier sockets closed with 1012 to move them to another worker. */
  readonly closed: number;
  /** Courier upgrades refused with 1013 while this worker was above its share. */
  readonly refused: number;
}

export class SocketRebalancer {
  readonly stats = { closed: 0, refused: 0 };
  private share = Infinity;
  private holdUntil = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly target: RebalanceTarget,
    private readonly opts: { spreadMs: number; log: InfoLog; now?: () => number },
  ) {}

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** The primary's request: close what is above the fair share, spread over the spread time. Returns how many it will close. */
  rebalance(total: number, workers: number): number {
    const share = fairShare(total, workers);
    const held = this.target.count();
    const excess = held - share;
    if (excess <= 0 || this.opts.spreadMs <= 0) {
      this.opts.log.info({ sockets: held, fairShare: share, total, workers }, 'courier sockets within fair share: nothing to rebalance');
      return 0;
    }
    this.stop();
    this.share = share;
    const every = this.opts.spreadMs / excess;
    this.holdUntil = this.now() + this.opts.spreadMs + HOLD_GRACE_MS;
    this.opts.log.info({ sockets: held, fairShare: share, total, workers, closing: excess, spreadMs: this.opts.spreadMs }, 'rebalancing courier sockets: asking the excess to reconnect (1012)');
    let left = excess;
    const tick = () => {
      // Sockets that left on their own count towards the excess.
      if (left > 0 && this.target.count() > share && this.target.closeOne(WS_SERVICE_RESTART, 'rebalancing: reconnect')) {
        this.stats.closed++;
        left--;
      } else if (this.target.count() <= share) {
        left = 0;
      }
      if (left > 0) {
        this.timer = setTimeout(tick, every);
        this.timer.unref();
      } else {
        this.timer = null;
        this.opts.log.info({ sockets: this.target.count(), fairShare: share, closed: this.stats.closed, refused: this.stats.refused }, 'courier sockets rebalanced');
      }
    };
    // The first close right away, the others `every` ms apart (the last one just before the spread time ends).
    this.timer = setTimeout(tick, 0);
    this.timer.unref();
    return excess;
  }

  /** Whether a new courier socket must be refused now (counted): rebalancing and at or above the share. */
  refuse(): boolean {
    if (this.now() >= this.holdUntil || this.target.count() < this.share) return false;
    this.stats.refused++;
    return true;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.holdUntil = 0;
    this.share = Infinity;
  }
}

/**
 * A cluster worker answers the primary's socket queries and rebalance requests (worker-pool.ts sends them).
 * Returns the function that stops listening. Outside a cluster worker (no IPC channel) it does nothing.
 */
export function listenToPrimary(rebalancer: SocketRebalancer, target: RebalanceTarget): () => void {
  if (typeof process.send !== 'function') return () => {};
  const onMessage = (m: unknown) => {
    if (isSocketsQuery(m)) {
      const reply: SocketsReply = { type: 'dispatchd:courier-sockets', id: m.id, sockets: target.count() };
      process.send?.(reply);
    } else if (isRebalanceRequest(m)) {
      rebalancer.rebalance(m.total, m.workers);
    }
  };
  process.on('message', onMessage);
  return () => {
    process.off('message', onMessage);
    rebalancer.stop();
  };
}
