/**
 * The service's handle on the history sink thread: starts it, restarts it if it dies, and asks it to
 * drain (write everything in the stream) or stop at shutdown.
 */
import { Worker } from 'node:worker_threads';
import type { Redis, RedisOptions } from 'ioredis';
import { createRedis } from '../store/redis/client.js';
import type { FastifyBaseLogger } from 'fastify';
import type { LogLevel } from '../config.js';

/** What the thread needs to open its own connections (plain data: it crosses the thread boundary). */
export interface SinkThreadData {
  /** The service's Redis URL as configured (rediss://, credentials, db), so the thread connects the same way. */
  redis: { url: string; keyPrefix?: string };
  databaseUrl: string;
  batchSize: number;
  flushMs: number;
  claimIdleMs?: number;
  /** HISTORY_STREAMS, resolved (history-streams.ts). */
  streams?: number;
  logLevel: LogLevel;
  logFormat: 'json' | 'pretty';
  /** Consumer name in the stream's group (default: host and pid). */
  consumer?: string;
}

/** The thread's own Redis client: from the URL (TLS, auth and db included) with the service's key prefix. */
export function createSinkRedis(target: SinkThreadData['redis'], extra: RedisOptions = {}): Redis {
  // createRedis: a redis+cluster:// URL gives a Cluster client like the service's own
  return createRedis(target.url, {
    keyPrefix: target.keyPrefix,
    name: 'dispatchd-history-sink',
    extra: { lazyConnect: false, maxRetriesPerRequest: null, ...extra },
  });
}

type FromThread = { type: 'started' } | { type: 'drained' } | { type: 'stopped' } | { type: 'failed'; message: string };

/** Under tsx (development, tests) the thread needs tsx's loader too; compiled builds load the .js file. */
function spawnSinkThread(data: SinkThreadData): Worker {
  const entry = new URL(import.meta.url.endsWith('.ts') ? './history-sink-thread.ts' : './history-sink-thread.js', import.meta.url).href;
  if (!entry.endsWith('.ts')) return new Worker(new URL(entry), { workerData: data });
  const shim = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(shim, { eval: true, workerData: data });
}

export class SinkThread {
  private worker: Worker | null = null;
  private closing = false;
  private restartTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly data: SinkThreadData,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** Resolves once the thread consumes the stream. */
  async start(): Promise<void> {
    this.closing = false;
    const worker = spawnSinkThread(this.data);
    this.worker = worker;
    worker.on('error', (err) => this.log.error({ err }, 'history sink thread crashed'));
    worker.on('exit', (code) => {
      if (this.worker !== worker) return;
      this.worker = null;
      if (this.closing) return;
      // Pending entries stay in the stream: a new thread picks them up first.
      this.log.error({ code }, 'history sink thread exited; restarting in 1 s');
      this.restartTimer = setTimeout(() => {
        this.restartTimer = null;
        if (!this.closing) this.start().catch((err: unknown) => this.log.error({ err }, 'history sink restart failed'));
      }, 1000);
    });
    await this.request(worker, null, 'started');
  }

  /** Writes everything in the stream, then ends the thread (graceful shutdown). */
  drain(): Promise<void> {
    return this.finish('drain', 'drained');
  }

  /** Ends the thread after its current batch; unwritten entries stay pending for the next start. */
  stop(): Promise<void> {
    return this.finish('stop', 'stopped');
  }

  private async finish(command: 'drain' | 'stop', answer: 'drained' | 'stopped'): Promise<void> {
    this.closing = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const worker = this.worker;
    if (!worker) return;
    try {
      await this.request(worker, command, answer);
    } finally {
      this.worker = null;
      await worker.terminate();
    }
  }

  private request(worker: Worker, command: string | null, answer: FromThread['type']): Promise<void> {
    return new Promise((resolve, reject) => {
      const onMessage = (m: FromThread) => {
        if (m.type === answer) done(null);
        else if (m.type === 'failed') done(new Error(`history sink thread: ${m.message}`));
      };
      const onExit = (code: number) => done(new Error(`history sink thread exited (${code}) before '${answer}'`));
      const done = (err: Error | null) => {
        worker.off('message', onMessage);
        worker.off('exit', onExit);
        if (err) reject(err);
        else resolve();
      };
      worker.on('message', onMessage);
      worker.on('exit', onExit);
      if (command) worker.postMessage({ type: command });
    });
  }
}
