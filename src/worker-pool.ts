/**
 * WORKERS > 1: the primary process supervises that many service processes (Node cluster) sharing one
 * listening port. Node's event loop is one thread, and the courier socket path (frame parsing, acks,
 * one kernel write per ack) saturates it long before the machine: more processes use more cores.
 * Nodes are stateless by design (zone leases, consumer groups, pub/sub), so a worker is just a node.
 *
 * The primary owns what must happen once (embedded services, migrations, the dev JWT secret) and hands
 * the resolved values to the workers in their environment. A worker that dies after it was listening is
 * replaced; one that dies before listening — or too many restarts in a row — stops the whole service,
 * since restarting would only fail again. Once a replacement listens, the primary asks the workers for
 * their courier socket counts and tells them the total, so an over-share worker moves its excess to the
 * replacement (gateway/ws/rebalance.ts).
 */
import cluster, { type Worker } from 'node:cluster';
import { hostname } from 'node:os';
import type { Logger } from './logger.js';
import { fairShare, HOLD_GRACE_MS, isSocketsReply, type RebalanceRequest, type SocketsQuery } from './gateway/ws/rebalance.js';

/** IPC message from the primary: shut down gracefully (signals also reach workers from a terminal). */
export const SHUTDOWN_MESSAGE = 'dispatchd:shutdown';

/** How the primary tells a worker its slot (internal, set by the primary; a replacement inherits the slot). */
const WORKER_SLOT_ENV = 'DISPATCHD_WORKER_SLOT';

/**
 * This process's consumer name in the history stream's group. Under WORKERS > 1 it is per worker slot, so a
 * replacement worker reads what its crashed predecessor left pending as soon as it starts (its own pending
 * list), instead of another consumer claiming it after the idle time. Otherwise per process.
 */
export function historyConsumerName(): string {
  const slot = cluster.isWorker ? process.env[WORKER_SLOT_ENV] : undefined;
  return slot ? `${hostname()}-w${slot}` : `${hostname()}-${process.pid}`;
}

const RESTART_DELAY_MS = 1000;
const RESTART_WINDOW_MS = 60_000;
const MAX_RESTARTS_IN_WINDOW = 5;
/** A worker that does not answer the socket count query within this is left out of the rebalancing. */
const QUERY_TIMEOUT_MS = 2000;

export interface WorkerPoolOptions {
  count: number;
  /**
   * Environment overrides for every worker (resolved service URLs, JWT secret, and a concrete PORT: with
   * PORT=0 a replacement worker would be handed a new port of its own instead of joining the shared one).
   */
  env: Record<string, string>;
  log: Logger;
  /** WORKER_REBALANCE_SPREAD_MS: courier sockets are rebalanced over this long after a replacement; 0: not at all. */
  rebalanceSpreadMs?: number;
  /** Called when the running pool cannot go on (a replacement worker failed to start, or a crash loop). */
  onFatal(reason: string): void;
}

export class WorkerPool {
  /** Live workers and their slots (1…count). */
  private readonly workers = new Map<Worker, number>();
  private readonly listening = new Set<Worker>();
  private readonly restarts: number[] = [];
  private stopping = false;
  private started = false;
  private failedExits = 0;
  private queryId = 0;

  constructor(private readonly opts: WorkerPoolOptions) {}

  /** Forks every worker; resolves with the shared address once all of them listen. */
  start(): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      let pending = this.opts.count;
      const onListening = (worker: Worker, address: { address: string; port: number }) => {
        if (!this.workers.has(worker) || this.listening.has(worker)) return;
        this.listening.add(worker);
        if (this.started) {
          // a replacement: the survivors took over its predecessor's couriers
          void this.rebalance().catch((err: unknown) => this.opts.log.error({ err }, 'courier socket rebalancing failed'));
          return;
        }
        if (--pending > 0) return;
        this.started = true;
        resolve({ host: address.address, port: address.port });
      };
      cluster.on('listening', onListening);
      cluster.on('exit', (worker, code, signal) => {
        const slot = this.workers.get(worker);
        if (slot === undefined) return;
        this.workers.delete(worker);
        const wasListening = this.listening.delete(worker);
        if (this.stopping) {
          if (code !== 0) this.failedExits++;
          return;
        }
        this.opts.log.error({ pid: worker.process.pid, code, signal }, 'service worker exited');
        if (!this.started) {
          reject(new Error(`a service worker exited (${signal ?? code}) before it was listening; its log above says why`));
        } else if (!wasListening) {
          this.opts.onFatal(`a restarted service worker exited (${signal ?? code}) before it was listening`);
        } else if (this.crashLooping()) {
          this.opts.onFatal(`service workers keep exiting (${MAX_RESTARTS_IN_WINDOW} restarts within ${RESTART_WINDOW_MS / 1000} s)`);
        } else {
          setTimeout(() => {
            if (!this.stopping) this.fork(slot);
          }, RESTART_DELAY_MS).unref();
        }
      });
      for (let slot = 1; slot <= this.opts.count; slot++) this.fork(slot);
    });
  }

  pids(): number[] {
    return [...this.workers.keys()].map((w) => w.process.pid).filter((pid): pid is number => pid !== undefined);
  }

  /** Asks every worker to shut down and waits for them; resolves false when any exited non-zero. */
  async stop(): Promise<boolean> {
    this.stopping = true;
    const exits = [...this.workers.keys()].map(
      (worker) =>
        new Promise<void>((resolve) => {
          if (worker.isDead()) return resolve();
          worker.once('exit', () => resolve());
          // A worker still starting may not listen for the message yet; it has nothing to drain either.
          if (this.listening.has(worker) && worker.isConnected()) worker.send(SHUTDOWN_MESSAGE);
          else worker.process.kill('SIGTERM');
        }),
    );
    await Promise.all(exits);
    return this.failedExits === 0;
  }

  /** Courier sockets per listening worker (null: no answer in time). */
  async courierSockets(): Promise<{ pid: number | undefined; slot: number; sockets: number | null }[]> {
    const id = ++this.queryId;
    const query: SocketsQuery = { type: 'dispatchd:courier-sockets?', id };
    const workers = [...this.listening].filter((w) => w.isConnected());
    return Promise.all(
      workers.map(
        (worker) =>
          new Promise<{ pid: number | undefined; slot: number; sockets: number | null }>((resolve) => {
            const answer = (sockets: number | null) => {
              clearTimeout(timer);
              worker.off('message', onMessage);
              resolve({ pid: worker.process.pid, slot: this.workers.get(worker) ?? 0, sockets });
            };
            const onMessage = (m: unknown) => {
              if (isSocketsReply(m) && m.id === id) answer(m.sockets);
            };
            const timer = setTimeout(() => answer(null), QUERY_TIMEOUT_MS);
            worker.on('message', onMessage);
            try {
              worker.send(query);
            } catch {
              answer(null);
            }
          }),
      ),
    );
  }

  /** After a replacement listens: tell every worker the total, so the over-share ones hand sockets over. */
  private async rebalance(): Promise<void> {
    const spreadMs = this.opts.rebalanceSpreadMs ?? 0;
    if (spreadMs <= 0 || this.stopping || this.listening.size < 2) return;
    const counts = await this.courierSockets();
    const total = counts.reduce((n, c) => n + (c.sockets ?? 0), 0);
    const workers = this.listening.size;
    this.opts.log.info({ sockets: counts, total, workers, fairShare: fairShare(total, workers), spreadMs }, 'worker replaced: rebalancing courier sockets');
    const request: RebalanceRequest = { type: 'dispatchd:rebalance', total, workers };
    for (const worker of this.listening) {
      try {
        if (worker.isConnected()) worker.send(request);
      } catch {
        // gone meanwhile: its exit is handled on its own
      }
    }
    setTimeout(() => {
      if (this.stopping) return;
      void this.courierSockets().then(
        (after) => this.opts.log.info({ sockets: after, total: after.reduce((n, c) => n + (c.sockets ?? 0), 0) }, 'courier sockets after rebalancing'),
        () => {},
      );
    }, spreadMs + HOLD_GRACE_MS).unref();
  }

  private fork(slot: number): void {
    const worker = cluster.fork({ ...this.opts.env, [WORKER_SLOT_ENV]: String(slot) });
    this.workers.set(worker, slot);
    this.opts.log.info({ pid: worker.process.pid, slot, workers: this.workers.size }, 'service worker started');
  }

  private crashLooping(): boolean {
    const now = Date.now();
    this.restarts.push(now);
    while (this.restarts.length > 0 && now - this.restarts[0] > RESTART_WINDOW_MS) this.restarts.shift();
    return this.restarts.length > MAX_RESTARTS_IN_WINDOW;
  }
}
