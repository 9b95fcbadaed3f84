/**
 * The history sink: drains the location streams into Postgres through a consumer group.
 *
 * There are HISTORY_STREAMS streams (store/redis/history-streams.ts; one, `loc:stream`, on a single Redis by
 * default), and the sink reads all of them plus every stream a writer registered under another setting and
 * the legacy `loc:stream`, looked up again every `rescanMs`: entries written under any setting are drained.
 * Each stream has its own group `history` (same name everywhere), and a consumer reads, acks and claims per
 * stream; one Postgres transaction may hold entries of several streams. Reading: on one Redis one blocking
 * XREADGROUP over all streams; on a cluster, where one command must stay in one slot and a blocking read
 * would hold up the node's shared connection, one non-blocking XREADGROUP per stream (auto-pipelined: one
 * round trip per node), repeated every `min(flushMs, 100 ms)` while all are empty.
 *
 * Each stream entry holds the packed points of one ingest flush (those of its stream). Entries are acknowledged (and deleted)
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
import { packPoints, unpackPoints, type StoredPoint } from '../store/redis/location-index.js';
import { batchValues, execChecked, RedisScript } from '../store/redis/batch.js';
import { isCluster, refreshSlotsOnRedirect } from '../store/redis/client.js';
import { redisKeys } from '../store/redis/keys.js';
import { historyStreamKeys, knownHistoryStreams, resolveHistoryStreams } from '../store/redis/history-streams.js';

export const HISTORY_GROUP = 'history';
/** Points the history could not store (one entry per point: fields reason, point, entry), newest kept. */
export const DEAD_LETTER_STREAM = redisKeys.deadLetterStream;
const DEAD_LETTER_MAXLEN = 100_000;
/**
 * The consumer-group administration of one stream (XGROUP CREATE / DELCONSUMER, XINFO CONSUMERS) as a script
 * with the stream as its declared key: ioredis neither prefixes nor routes the key of these subcommands, and
 * on a cluster such a command, auto-pipelined with others to the wrong node, got MOVED and failed its batch.
 * KEYS: [stream]. ARGV: ['C', group, mkstream '1'|'0'] → 1 (group exists now) | 0 (no such stream);
 * ['D', group, consumer] → consumers deleted (0 on any error: cleanup only); ['I', group] → XINFO CONSUMERS.
 */
const STREAM_GROUP = new RedisScript(`
local op = ARGV[1]
if op == 'C' then
  local r
  if ARGV[3] == '1' then
    r = redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[2], '0', 'MKSTREAM')
  else
    r = redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[2], '0')
  end
  if type(r) == 'table' and r.err then
    if string.find(r.err, 'BUSYGROUP', 1, true) then return 1 end
    if string.find(r.err, 'requires the key to exist', 1, true) then return 0 end
    return redis.error_reply(r.err)
  end
  return 1
elseif op == 'D' then
  local r = redis.pcall('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[2], ARGV[3])
  if type(r) == 'table' and r.err then return 0 end
  return r
else
  return redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[2])
end
`);

/** On a cluster (non-blocking reads): the longest wait before polling empty streams again. */
const CLUSTER_POLL_MS = 100;

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
  /** HISTORY_STREAMS: the streams this deployment writes (0 or omitted: 1 on one Redis, 16 on a cluster). */
  streams?: number;
  /** How often the registered and legacy streams are looked up again (default 10 s). */
  rescanMs?: number;
  group?: string;
}

type Entry = { stream: string; id: string; points: StoredPoint[] };
type StreamReply = [string, [string, string[] | null][]][] | null;

export class HistorySink {
  readonly consumer: string;
  /** The streams of this deployment's HISTORY_STREAMS (created with their group at start). */
  readonly configured: readonly string[];
  /** Every stream read now: the configured ones, then registered and legacy ones that exist. */
  private streams: string[] = [];
  private readonly group: string;
  private readonly claimIdleMs: number;
  private readonly staleConsumerMs: number;
  private readonly rescanMs: number;
  private readonly cluster: boolean;
  private readonly prefix: string;
  private running = false;
  private loop: Promise<void> | null = null;
  private lastClaim = 0;
  private lastRescan = 0;
  /** Points written to Postgres by this sink (new rows and re-delivered ones alike). */
  written = 0;
  /** Points this sink moved to the dead-letter stream. */
  deadLettered = 0;

  constructor(private readonly opts: HistorySinkOptions) {
    this.consumer = opts.consumer ?? historyConsumerName();
    this.cluster = isCluster(opts.redis);
    this.configured = historyStreamKeys(resolveHistoryStreams(opts.streams ?? 0, this.cluster));
    this.group = opts.group ?? HISTORY_GROUP;
    this.claimIdleMs = opts.claimIdleMs ?? 30_000;
    this.staleConsumerMs = Math.max(this.claimIdleMs, opts.staleConsumerMs ?? 600_000);
    this.rescanMs = opts.rescanMs ?? 10_000;
    this.prefix = opts.redis.options.keyPrefix ?? '';
  }

  /** The streams read now (relative keys). */
  get readStreams(): readonly string[] {
    return this.streams;
  }

  /** Creates the groups (from each stream's beginning) and starts the loop. */
  async start(): Promise<void> {
    if (this.running) return;
    await this.refreshStreams();
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
    await this.refreshStreams();
    for (;;) {
      const pending = await this.readOwnPending();
      const entries = pending.length ? pending : await this.readNew(0);
      if (entries.length === 0) break;
      await this.writeAndAck(entries);
    }
    // Nothing pending here any more: leave no consumer behind (the next start under this name recreates it).
    await Promise.all(this.streams.map((s) => STREAM_GROUP.run(this.opts.redis, [s], ['D', this.group, this.consumer])));
  }

  /**
   * Looks up the streams to read (configured, registered, legacy) and makes sure each has the group. A
   * configured stream is created if missing; another one is read only while it exists (XGROUP CREATE
   * without MKSTREAM fails on a missing key), and picked up again by a later rescan once it does.
   * Streams read already are checked again only when `all` (after a NOGROUP: a stream or group was lost).
   * Returns whether a stream was added (its own pending entries must then be recovered).
   */
  private async refreshStreams(all = true): Promise<boolean> {
    this.lastRescan = Date.now();
    const known = await knownHistoryStreams(this.opts.redis, this.configured);
    const configured = new Set(this.configured);
    const reading = new Set(this.streams);
    const ready = await Promise.all(known.map((s) => (!all && reading.has(s) ? true : this.ensureGroup(s, configured.has(s)))));
    const next = known.filter((_, i) => ready[i]);
    const added = next.some((s) => !this.streams.includes(s));
    if (added || next.length !== this.streams.length) {
      const extra = next.filter((s) => !configured.has(s));
      if (extra.length) this.opts.log?.info({ streams: extra }, 'history sink reads streams beyond its configured ones');
    }
    this.streams = next;
    return added;
  }

  /** Creates the group on a stream (from its beginning); false when the stream does not exist and may not be created. */
  private async ensureGroup(stream: string, create: boolean): Promise<boolean> {
    return Number(await STREAM_GROUP.run(this.opts.redis, [stream], ['C', this.group, create ? '1' : '0'])) === 1;
  }

  private async run(): Promise<void> {
    let recovered = false;
    let backoffMs = 100;
    while (this.running) {
      try {
        if (Date.now() - this.lastRescan >= this.rescanMs && (await this.refreshStreams(false))) recovered = false;
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
        refreshSlotsOnRedirect(this.opts.redis, err);
        // Redis lost the stream or the group (restart without persistence, FLUSHALL, DEL): the ingest's next
        // XADD recreates a bare stream, so recreate the group or every read fails with NOGROUP forever.
        // (a stream that is gone for good, not configured, is dropped from the reads until it comes back)
        if (isNoGroup(err)) await this.refreshStreams().catch((e: unknown) => this.opts.log?.error({ err: e }, 'history sink could not recreate its groups'));
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

  /** New entries of every stream (waiting up to blockMs when there are none). */
  private async readNew(blockMs: number): Promise<Entry[]> {
    if (!this.cluster) return this.readAll('>', blockMs);
    const entries = await this.readAll('>', 0);
    if (entries.length === 0 && blockMs > 0) await new Promise((r) => setTimeout(r, Math.min(blockMs, CLUSTER_POLL_MS)));
    return entries;
  }

  /** What this consumer read but never acknowledged, on every stream. */
  private readOwnPending(): Promise<Entry[]> {
    return this.readAll('0', 0);
  }

  /**
   * XREADGROUP from `id` ('>' new, '0' own pending) on every stream: one command over all streams on one
   * Redis (blocking up to blockMs), one command per stream on a cluster (each its own slot; never blocking).
   */
  private async readAll(id: '>' | '0', blockMs: number): Promise<Entry[]> {
    const streams = this.streams;
    if (streams.length === 0) return [];
    const head: (string | number)[] = ['GROUP', this.group, this.consumer, 'COUNT', 256];
    if (!this.cluster) {
      const args = [...head];
      if (blockMs > 0 && id === '>') args.push('BLOCK', Math.max(1, Math.round(blockMs)));
      args.push('STREAMS', ...streams, ...streams.map(() => id));
      const reply = (await this.opts.redis.call('XREADGROUP', ...args)) as StreamReply;
      // replies name the full key (prefix included)
      return (reply ?? []).flatMap(([key, raw]) => toEntries(key.startsWith(this.prefix) ? key.slice(this.prefix.length) : key, raw ?? []));
    }
    const replies = await Promise.all(streams.map((s) => this.opts.redis.xreadgroup(...(head as ['GROUP', string, string, 'COUNT', number]), 'STREAMS', s, id) as Promise<StreamReply>));
    return replies.flatMap((reply, i) => toEntries(streams[i], reply?.[0]?.[1] ?? []));
  }

  /** Takes over entries other consumers left pending for longer than claimIdleMs, on every stream (checked now and then). */
  private async claimAbandoned(): Promise<Entry[]> {
    const now = Date.now();
    if (now - this.lastClaim < Math.min(this.claimIdleMs, 5000)) return [];
    this.lastClaim = now;
    const streams = this.streams;
    const replies = (await Promise.all(
      streams.map((s) => this.opts.redis.xautoclaim(s, this.group, this.consumer, this.claimIdleMs, '0-0', 'COUNT', 256)),
    )) as [string, [string, string[] | null][]][];
    const entries = replies.flatMap((reply, i) => toEntries(streams[i], reply[1] ?? []));
    if (entries.length) this.opts.log?.info({ entries: entries.length }, 'history sink claimed abandoned entries');
    else await Promise.all(streams.map((s) => this.removeStaleConsumers(s)));
    return entries;
  }

  /**
   * Deletes consumers of the group left by dead processes (every restart under a new pid leaves one): those
   * with nothing pending (their entries were claimed) and idle for longer than `staleConsumerMs`. Harmless
   * for a live consumer too: its next XREADGROUP recreates it, and with nothing pending nothing is lost.
   */
  private async removeStaleConsumers(stream: string): Promise<void> {
    const consumers = (await STREAM_GROUP.run(this.opts.redis, [stream], ['I', this.group])) as (string | number)[][];
    for (const fields of consumers) {
      const info: Record<string, string | number> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) info[String(fields[i])] = fields[i + 1];
      const name = String(info.name);
      if (name === this.consumer || Number(info.pending) !== 0 || Number(info.idle) < this.staleConsumerMs) continue;
      await STREAM_GROUP.run(this.opts.redis, [stream], ['D', this.group, name]);
      this.opts.log?.info({ consumer: name, stream, idleMs: Number(info.idle) }, 'history sink removed a stale stream consumer');
    }
  }

  private async writeAndAck(entries: Entry[]): Promise<void> {
    for (const chunk of chunks(entries, this.opts.batchSize)) {
      const points = chunk.flatMap((e) => e.points);
      const dead = await this.writeIsolating(points);
      this.written += points.length - dead.length;
      const idsByStream = new Map<string, string[]>();
      for (const e of chunk) {
        let ids = idsByStream.get(e.stream);
        if (!ids) idsByStream.set(e.stream, (ids = []));
        ids.push(e.id);
      }
      // Only after the commit: an entry acked here is in Postgres, or its bad points are dead-lettered.
      const deadCommands = dead.map(
        (d) => ['xadd', DEAD_LETTER_STREAM, 'MAXLEN', '~', DEAD_LETTER_MAXLEN, '*', 'reason', d.reason, 'point', packPoints([d.point]), 'consumer', this.consumer] as const,
      );
      if (this.cluster) {
        // the dead-letter stream and each history stream are a slot of their own: dead letters first, then
        // per stream the ack (a crash between dead-letters a point twice at worst, never loses one)
        if (deadCommands.length) await batchValues(this.opts.redis, deadCommands);
        await Promise.all([...idsByStream].map(([stream, ids]) => execChecked(this.opts.redis.multi().xack(stream, this.group, ...ids).xdel(stream, ...ids))));
      } else {
        const tx = this.opts.redis.multi(deadCommands.map((c) => [...c]));
        for (const [stream, ids] of idsByStream) tx.xack(stream, this.group, ...ids).xdel(stream, ...ids);
        // an ack that failed (thrown here) leaves its entries pending: the retry reads this consumer's pending first
        await execChecked(tx);
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

  /** Entries not yet written to Postgres (pending or never delivered) in every known stream: acked entries are deleted. */
  async backlog(): Promise<number> {
    const streams = await knownHistoryStreams(this.opts.redis, this.configured);
    const lengths = await batchValues(this.opts.redis, streams.map((s) => ['xlen', s] as const));
    return lengths.reduce<number>((sum, n) => sum + Number(n), 0);
  }
}

/** What the streams still hold (entries, the points in them, entries read but unacknowledged, which streams): at shutdown. */
async function streamBacklog(redis: Redis, configured: readonly string[]): Promise<{ entries: number; points: number; pending: number; streams: string[] }> {
  let points = 0;
  let entries = 0;
  let pending = 0;
  const streams: string[] = [];
  for (const stream of await knownHistoryStreams(redis, configured)) {
    const before = entries;
    for (let start = '-'; ; ) {
      const page = await redis.xrange(stream, start, '+', 'COUNT', 1000);
      for (const [, fields] of page) {
        const i = fields.indexOf('p');
        if (i >= 0) points += unpackPoints(fields[i + 1]).length;
      }
      entries += page.length;
      if (page.length < 1000) break;
      start = '(' + page[page.length - 1][0];
    }
    if (entries > before) streams.push(stream);
    const summary = (await redis.xpending(stream, HISTORY_GROUP).catch(() => [0])) as [number, ...unknown[]];
    pending += Number(summary[0] ?? 0);
  }
  return { entries, points, pending, streams };
}

function isNoGroup(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOGROUP');
}

function count(entries: Entry[]): number {
  let n = 0;
  for (const e of entries) n += e.points.length;
  return n;
}

function toEntries(stream: string, raw: [string, string[] | null][]): Entry[] {
  const out: Entry[] = [];
  for (const [id, fields] of raw) {
    // A deleted entry still pending shows up with null fields: nothing to write, just ack it.
    if (!fields) {
      out.push({ stream, id, points: [] });
      continue;
    }
    const i = fields.indexOf('p');
    out.push({ stream, id, points: i >= 0 ? unpackPoints(fields[i + 1]) : [] });
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
    const streams = resolveHistoryStreams(config.historyStreams, isCluster(app.redis));
    const thread = new SinkThread(
      {
        redis: { url: config.redisUrl, keyPrefix: app.redis.options.keyPrefix },
        databaseUrl,
        batchSize: config.historyBatchSize,
        flushMs: config.historyFlushMs,
        claimIdleMs: config.historyClaimIdleMs,
        streams,
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
        const configured = historyStreamKeys(streams);
        const left = await streamBacklog(app.redis, configured).catch(() => null);
        const where = (list: readonly string[]) => (list.length === 1 ? `stream ${list[0]}` : `streams ${list.join(', ')}`);
        throw new Error(
          left
            ? `history not fully written: ${left.points} acked points in ${left.entries} entries left in the Redis ${where(left.streams.length ? left.streams : configured)} (${left.pending} pending)`
            : `history not fully written; the Redis ${where(configured)} could not be read to count what is left`,
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
