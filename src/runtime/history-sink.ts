/**
 * The history sink: drains the location stream into Postgres through a consumer group.
 *
 * Each stream entry holds the packed points of one ingest flush. Entries are acknowledged (and deleted)
 * only after the transaction holding their points has committed, so an acked point is never lost; if
 * the process dies in between, the entries stay pending and are read again — by this consumer on
 * restart (its pending list comes first), or claimed by another once idle for `claimIdleMs`. Re-inserts
 * are no-ops thanks to the table's (courier_id, ts, seq) key.
 */
import { SinkThread } from './history-sink-thread-handle.js';
import { historyConsumerName } from '../worker-pool.js';
import type { Redis } from 'ioredis';
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../logger.js';
import { PartitionMaintainer } from '../store/pg/position-partitions.js';
import { PositionWriter } from '../store/pg/position-writer.js';
import { LOCATION_STREAM, unpackPoints, type StoredPoint } from '../store/redis/location-index.js';

export const HISTORY_GROUP = 'history';

/** Where the points go; PositionWriter in production, anything that commits atomically in tests. */
export interface PointWriter {
  write(points: readonly StoredPoint[]): Promise<number>;
}

export interface HistorySinkOptions {
  /** A dedicated connection: the sink blocks on XREADGROUP. Keeps the key prefix of the index's client. */
  redis: Redis;
  writer: PointWriter;
  log?: Pick<Logger, 'info' | 'error'>;
  /** Most points per Postgres transaction (an entry is never split). */
  batchSize: number;
  /** Longest wait to fill a batch before writing what there is. */
  flushMs: number;
  consumer?: string;
  /** Entries pending this long with another consumer are taken over (that consumer is presumed dead). */
  claimIdleMs?: number;
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
  private running = false;
  private loop: Promise<void> | null = null;
  private lastClaim = 0;
  /** Points written to Postgres by this sink (new rows and re-delivered ones alike). */
  written = 0;

  constructor(private readonly opts: HistorySinkOptions) {
    this.consumer = opts.consumer ?? historyConsumerName();
    this.stream = opts.stream ?? LOCATION_STREAM;
    this.group = opts.group ?? HISTORY_GROUP;
    this.claimIdleMs = opts.claimIdleMs ?? 30_000;
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
      if (entries.length === 0) return;
      await this.writeAndAck(entries);
    }
  }

  private async ensureGroup(): Promise<void> {
    // XGROUP's key is not prefixed by ioredis (subcommand syntax): prefix it by hand.
    const key = (this.opts.redis.options.keyPrefix ?? '') + this.stream;
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
    return entries;
  }

  private async writeAndAck(entries: Entry[]): Promise<void> {
    for (const chunk of chunks(entries, this.opts.batchSize)) {
      const points = chunk.flatMap((e) => e.points);
      await this.opts.writer.write(points);
      this.written += points.length;
      const ids = chunk.map((e) => e.id);
      // Only after the commit: an entry acked here is in Postgres.
      await this.opts.redis.multi().xack(this.stream, this.group, ...ids).xdel(this.stream, ...ids).exec();
    }
  }

  /** Entries not yet written to Postgres (pending or never delivered): acked entries are deleted. */
  async backlog(): Promise<number> {
    return this.opts.redis.xlen(this.stream);
  }
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
      await thread.drain();
    });
  },
  { name: 'dispatchd-history-sink', fastify: '5.x', dependencies: ['dispatchd-core'] },
);

declare module 'fastify' {
  interface FastifyInstance {
    historySink: SinkThread;
  }
}
