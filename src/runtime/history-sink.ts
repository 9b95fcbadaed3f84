/**
 * The history sink: drains the location stream into Postgres through a consumer group.
 *
 * Each stream entry holds the packed points of one ingest flush. Entries are acknowledged (and deleted)
 * only after the transaction holding their points has committed, so an acked point is never lost; if
 * the process dies in between, the entries stay pending and are read again — by this consumer on
 * restart (its pending list comes first), or claimed by another once idle for `claimIdleMs`. Re-inserts
 * are no-ops thanks to the table's (courier_id, ts, seq) key.
 *
 * A batch that fails for a data reason (a value its column refuses) is split in halves until the bad
 * points are alone; those go to the dead-letter stream with their reason (acked with their entries in one
 * MULTI), the rest is stored. Any other failure (Redis or Postgres unreachable) is retried forever.
 */
import { SinkThread } from './history-sink-thread-handle.js';
import { historyConsumerName } from '../worker-pool.js';
import type { Redis } from 'ioredis';
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { resolveLogFormat, type Logger } from '../logger.js';
import { PartitionMaintainer } from '../store/pg/position-partitions.js';
import { PositionWriter, isDataError } from '../store/pg/position-writer.js';
import { LOCATION_STREAM, packPoints, unpackPoints, type StoredPoint } from '../store/redis/location-index.js';
import { batchValues } from '../store/redis/batch.js';
import { isCluster } from '../store/redis/client.js';
import { redisKeys } from '../store/redis/keys.js';

export const HISTORY_GROUP = 'history';
/** Points the history could not store (one entry per point: fields reason, point, entry), newest kept. */
export const DEAD_LETTER_STREAM = redisKeys.deadLetterStream;
const DEAD_LETTER_MAXLEN = 100_000;

/** Where the points go; PositionWriter in production, anything that commits atomically in tests. */
export interface PointWriter {
  write(points: readonly StoredPoint[]): Promise<number>;
}

export interface HistorySinkOptions {
  /** A dedicated connection: the sink blocks on XREADGROUP. Keeps the key prefix of the index's client. */
  redis: Redis;
  writer: PointWriter;
  log?: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Most points per Postgres transaction (an entry is never split). */
  batchSize: number;
  /** Longest wait to fill a batch before writing what there is. */
  flushMs: number;
  consumer?: string;
  /** Entries pending this long with another consumer are taken over (that consumer is presumed dead). */
  claimIdleMs?: number;
  /** A consumer idle this long with nothing pending is removed from the group (default 10 min, ≥ claimIdleMs). */
  staleConsumerMs?: number;
  stream?: string;
  group?: string;
}

type Entry = { id: string; points: StoredPoint[] };
type StreamReply = [string, [string, string[]][]][] | null;

export class HistorySink {
  readonly consumer: string;
  private readonly stream: string;
  private readonly group: string;
  private readonly claimIdleMs: number;
  private readonly staleConsumerMs: number;
  private running = false;
  private loop: Promise<void> | null = null;
  private lastClaim = 0;
  /** Points written to Postgres by this sink (new rows and re-delivered ones alike). */
  written = 0;
  /** Points this sink moved to the dead-letter stream. */
  deadLettered = 0;

  constructor(private readonly opts: HistorySinkOptions) {
    this.consumer = opts.consumer ?? historyConsumerName();
    this.stream = opts.stream ?? LOCATION_STREAM;
    this.group = opts.group ?? HISTORY_GROUP;
    this.claimIdleMs = opts.claimIdleMs ?? 30_000;
    this.staleConsumerMs = Math.max(this.claimIdleMs, opts.staleConsumerMs ?? 600_000);
  }

  /** Creates the group (from the stream's beginning) and starts the loop. */
  async start(): Promise<void> {
    if (this.running) return;
    await this.ensureGroup();
    this.running = true;
    this.loop = this.run().catch((err: unknown) => {
      this.running = false;
      this.opts.log?.error({ err }, 'history sink stopped on an error');
    });
  }

  /** Stops after the batch in progress; what was not written stays pending for the next start. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    this.loop = null;
  }

  /** Writes everything in the stream now, then stops (graceful shutdown). */
  async drain(): Promise<void> {
    await this.stop();
    await this.ensureGroup();
    for (;;) {
      const pending = await this.readOwnPending();
      const entries = pending.length ? pending : await this.readNew(0);
      if (entries.length === 0) break;
      await this.writeAndAck(entries);
    }
    // Nothing pending here any more: leave no consumer behind (the next start under this name recreates it).
    await this.opts.redis.call('XGROUP', 'DELCONSUMER', this.fullKey(), this.group, this.consumer);
  }

  /** The stream's full key: ioredis does not prefix keys of subcommand syntax (XGROUP, XINFO). */
  private fullKey(): string {
    return (this.opts.redis.options.keyPrefix ?? '') + this.stream;
  }

  private async ensureGroup(): Promise<void> {
    const key = this.fullKey();
    try {
      await this.opts.redis.call('XGROUP', 'CREATE', key, this.group, '0', 'MKSTREAM');
    } catch (err) {
      if (!String((err as Error).message).startsWith('BUSYGROUP')) throw err;
    }
  }

  private async run(): Promise<void> {
    let recovered = false;
    let backoffMs = 100;
    while (this.running) {
      try {
        if (!recovered) {
          // What this consumer read but never acknowledged (it crashed, was stopped or failed) comes first.
          for (let pending = await this.readOwnPending(); pending.length; pending = await this.readOwnPending()) {
            await this.writeAndAck(pending);
          }
          recovered = true;
        }
        const claimed = await this.claimAbandoned();
        const entries = claimed.length ? claimed : await this.collectBatch();
        if (entries.length) await this.writeAndAck(entries);
        backoffMs = 100;
      } catch (err) {
        // Redis or Postgres hiccup: the entries stay pending and are retried; never give up while running.
        this.opts.log?.error({ err, retryInMs: backoffMs }, 'history sink batch failed');
        recovered = false;
        // Redis lost the stream or the group (restart without persistence, FLUSHALL, DEL): the ingest's next
        // XADD recreates a bare stream, so recreate the group or every read fails with NOGROUP forever.
        if (isNoGroup(err)) await this.ensureGroup().catch((e: unknown) => this.opts.log?.error({ err: e }, 'history sink could not recreate its group'));
        await new Promise((r) => setTimeout(r, backoffMs));
        backoffMs = Math.min(backoffMs * 2, 5000);
      }
    }
  }

  /** Reads new entries until batchSize points or flushMs after the first one. */
  private async collectBatch(): Promise<Entry[]> {
    const first = await this.readNew(this.opts.flushMs);
    if (first.length === 0) return first;
    const entries = first;
    let points = count(entries);
    const deadline = Date.now() + this.opts.flushMs;
    while (this.running && points < this.opts.batchSize) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      const more = await this.readNew(left);
      if (more.length === 0) break;
      entries.push(...more);
      points += count(more);
    }
    return entries;
  }

  private async readNew(blockMs: number): Promise<Entry[]> {
    const args: (string | number)[] = ['GROUP', this.group, this.consumer, 'COUNT', 256];
    if (blockMs > 0) args.push('BLOCK', Math.max(1, Math.round(blockMs)));
    args.push('STREAMS', this.stream, '>');
    const reply = (await this.opts.redis.call('XREADGROUP', ...args)) as StreamReply;
    return toEntries(reply?.[0]?.[1] ?? []);
  }

  private async readOwnPending(): Promise<Entry[]> {
    const reply = (await this.opts.redis.xreadgroup('GROUP', this.group, this.consumer, 'COUNT', 256, 'STREAMS', this.stream, '0')) as StreamReply;
    return toEntries(reply?.[0]?.[1] ?? []);
  }

  /** Takes over entries another consumer left pending for longer than claimIdleMs (checked now and then). */
  private async claimAbandoned(): Promise<Entry[]> {
    const now = Date.now();
    if (now - this.lastClaim < Math.min(this.claimIdleMs, 5000)) return [];
    this.lastClaim = now;
    const reply = (await this.opts.redis.xautoclaim(this.stream, this.group, this.consumer, this.claimIdleMs, '0-0', 'COUNT', 256)) as [
      string,
      [string, string[]][],
    ];
    const entries = toEntries(reply[1] ?? []);
    if (entries.length) this.opts.log?.info({ entries: entries.length }, 'history sink claimed abandoned entries');
    else await this.removeStaleConsumers();
    return entries;
  }

  /**
   * Deletes consumers of the group left by dead processes (every restart under a new pid leaves one): those
   * with nothing pending (their entries were claimed) and idle for longer than `staleConsumerMs`. Harmless
   * for a live consumer too: its next XREADGROUP recreates it, and with nothing pending nothing is lost.
   */
  private async removeStaleConsumers(): Promise<void> {
    const key = this.fullKey();
    const consumers = (await this.opts.redis.call('XINFO', 'CONSUMERS', key, this.group)) as (string | number)[][];
    for (const fields of consumers) {
      const info: Record<string, string | number> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) info[String(fields[i])] = fields[i + 1];
      const name = String(info.name);
      if (name === this.consumer || Number(info.pending) !== 0 || Number(info.idle) < this.staleConsumerMs) continue;
      await this.opts.redis.call('XGROUP', 'DELCONSUMER', key, this.group, name);
      this.opts.log?.info({ consumer: name, idleMs: Number(info.idle) }, 'history sink removed a stale stream consumer');
    }
  }

  private async writeAndAck(entries: Entry[]): Promise<void> {
    for (const chunk of chunks(entries, this.opts.batchSize)) {
      const points = chunk.flatMap((e) => e.points);
      const dead = await this.writeIsolating(points);
      this.written += points.length - dead.length;
      const ids = chunk.map((e) => e.id);
      // Only after the commit: an entry acked here is in Postgres, or its bad points are dead-lettered.
      const deadCommands = dead.map(
        (d) => ['xadd', DEAD_LETTER_STREAM, 'MAXLEN', '~', DEAD_LETTER_MAXLEN, '*', 'reason', d.reason, 'point', packPoints([d.point]), 'consumer', this.consumer] as const,
      );
      if (isCluster(this.opts.redis)) {
        // the dead-letter stream is another slot: dead letters first, then the ack (a crash between
        // dead-letters a point twice at worst, never loses one)
        if (deadCommands.length) await batchValues(this.opts.redis, deadCommands);
        await this.opts.redis.multi().xack(this.stream, this.group, ...ids).xdel(this.stream, ...ids).exec();
      } else {
        const tx = this.opts.redis.multi(deadCommands.map((c) => [...c]));
        await tx.xack(this.stream, this.group, ...ids).xdel(this.stream, ...ids).exec();
      }
      for (const d of dead) {
        this.opts.log?.warn({ courierId: d.point.courierId, seq: d.point.seq, ts: d.point.ts, reason: d.reason }, 'history point dead-lettered');
      }
      this.deadLettered += dead.length;
    }
  }

  /**
   * Writes the points; on a data error, writes each half on its own until the bad points are alone.
   * Returns those (not stored). Transient errors propagate: the caller retries the whole chunk later
   * (halves already committed are then no-ops).
   */
  private async writeIsolating(points: StoredPoint[]): Promise<{ point: StoredPoint; reason: string }[]> {
    if (points.length === 0) return [];
    try {
      await this.opts.writer.write(points);
      return [];
    } catch (err) {
      if (!isDataError(err)) throw err;
      if (points.length === 1) return [{ point: points[0], reason: err instanceof Error ? err.message : String(err) }];
      const half = points.length >>> 1;
      return [...(await this.writeIsolating(points.slice(0, half))), ...(await this.writeIsolating(points.slice(half)))];
    }
  }

  /** Entries not yet written to Postgres (pending or never delivered): acked entries are deleted. */
  async backlog(): Promise<number> {
    return this.opts.redis.xlen(this.stream);
  }
}

/** What the stream still holds (entries, the points in them, entries read but unacknowledged): at shutdown. */
async function streamBacklog(redis: Redis): Promise<{ entries: number; points: number; pending: number }> {
  let points = 0;
  let entries = 0;
  for (let start = '-'; ; ) {
    const page = await redis.xrange(LOCATION_STREAM, start, '+', 'COUNT', 1000);
    for (const [, fields] of page) {
      const i = fields.indexOf('p');
      if (i >= 0) points += unpackPoints(fields[i + 1]).length;
    }
    entries += page.length;
    if (page.length < 1000) break;
    start = '(' + page[page.length - 1][0];
  }
  const summary = (await redis.xpending(LOCATION_STREAM, HISTORY_GROUP).catch(() => [0])) as [number, ...unknown[]];
  return { entries, points, pending: Number(summary[0] ?? 0) };
}

function isNoGroup(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOGROUP');
}

function count(entries: Entry[]): number {
  let n = 0;
  for (const e of entries) n += e.points.length;
  return n;
}

function toEntries(raw: [string, string[] | null][]): Entry[] {
  const out: Entry[] = [];
  for (const [id, fields] of raw) {
    // A deleted entry still pending shows up with null fields: nothing to write, just ack it.
    if (!fields) {
      out.push({ id, points: [] });
      continue;
    }
    const i = fields.indexOf('p');
    out.push({ id, points: i >= 0 ? unpackPoints(fields[i + 1]) : [] });
  }
  return out;
}

function* chunks(entries: Entry[], maxPoints: number): Generator<Entry[]> {
  let chunk: Entry[] = [];
  let n = 0;
  for (const e of entries) {
    if (chunk.length && n + e.points.length > maxPoints) {
      yield chunk;
      chunk = [];
      n = 0;
    }
    chunk.push(e);
    n += e.points.length;
  }
  if (chunk.length) yield chunk;
}

/**
 * Runs the sink (and partition maintenance) inside the service: started when the app is ready, drained
 * at shutdown after the ingest has flushed its last writes. The sink itself runs on a worker thread
 * (history-sink-thread.ts) so that decoding stream entries and building COPY data never blocks the event
 * loop that answers courier sockets; partition maintenance stays here (hourly, cheap).
 */
export const historySink = fp(
  async function historySinkPlugin(app: FastifyInstance) {
    const { config } = app;
    const maintainer = new PartitionMaintainer(app.db, app.clock, config.retentionDays, app.log);
    const poolUrl = (app.db as unknown as { options?: { connectionString?: string } }).options?.connectionString;
    const databaseUrl = poolUrl ?? config.databaseUrl;
    if (!databaseUrl) throw new Error('history sink needs the Postgres URL (DATABASE_URL)');
    if (!config.redisUrl) throw new Error('history sink needs the Redis URL (REDIS_URL)');
    const thread = new SinkThread(
      {
        redis: { url: config.redisUrl, keyPrefix: app.redis.options.keyPrefix },
        databaseUrl,
        batchSize: config.historyBatchSize,
        flushMs: config.historyFlushMs,
        claimIdleMs: config.historyClaimIdleMs,
        logLevel: config.logLevel,
        // decided here: a worker thread's stdout is never a TTY
        logFormat: resolveLogFormat(config.logFormat, process.stdout.isTTY === true),
        consumer: historyConsumerName(),
      },
      app.log,
    );
    app.decorate('historySink', thread);
    app.addHook('onReady', async () => {
      await maintainer.start();
      await thread.start();
    });
    app.drainers.add('history-sink', async () => {
      maintainer.stop();
      try {
        await thread.drain();
      } catch (err) {
        // Say what is left where: the points are safe in the stream (acked to couriers) and the next start writes them.
        const left = await streamBacklog(app.redis).catch(() => null);
        throw new Error(
          left
            ? `history not fully written: ${left.points} acked points in ${left.entries} entries left in the Redis stream ${LOCATION_STREAM} (${left.pending} pending)`
            : `history not fully written; the Redis stream ${LOCATION_STREAM} could not be read to count what is left`,
          { cause: err },
        );
      }
    });
  },
  { name: 'dispatchd-history-sink', fastify: '5.x', dependencies: ['dispatchd-core'] },
);

declare module 'fastify' {
  interface FastifyInstance {
    historySink: SinkThread;
  }
}
