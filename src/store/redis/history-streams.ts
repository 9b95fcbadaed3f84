/**
 * The history streams: where a location flush appends its accepted points, and what the history sink
 * reads (runtime/history-sink.ts). docs/scaling.md "The history stream" explains the design.
 *
 * - N streams (HISTORY_STREAMS; 0 = automatic: 1 on one Redis, 16 on a Redis Cluster). N = 1 is the stream
 *   single-Redis deployments always had, `loc:stream`; N > 1 are `loc:stream:{<tag>}`, each tag chosen so
 *   its hash slot lies in the middle of the k-th of N equal slot ranges: on a cluster whose slots are split
 *   evenly over its masters (what `redis-cli --cluster create` does) the streams spread evenly, and with
 *   N = the number of masters each master holds exactly one.
 * - A courier's points always go to the same stream (`historyStreamIndex`, a hash of the courier id mod N),
 *   so one courier's points stay in order within one stream; different couriers' points are independent.
 * - Which streams exist: the configured ones, the legacy `loc:stream`, and every stream a writer ever
 *   registered in the set `loc:streams` (a node registers its N streams before its first XADD to them). The
 *   sink reads all of them, so entries written under another N (a changed setting, a rolling deploy, a node
 *   of an older version writing `loc:stream`) are drained, never stranded.
 */
import calculateSlot from 'cluster-key-slot';
import type { Redis } from 'ioredis';
import { redisKeys } from './keys.js';

/** Hash slots of a Redis Cluster. */
export const CLUSTER_SLOTS = 16_384;
/** Streams on a Redis Cluster when HISTORY_STREAMS is 0 (automatic): room for up to 16 shards. */
export const DEFAULT_CLUSTER_HISTORY_STREAMS = 16;
/** Most streams (HISTORY_STREAMS' maximum): the sink reads each of them every poll. */
export const MAX_HISTORY_STREAMS = 256;

/** HISTORY_STREAMS resolved: a positive setting as is, 0 → 1 on one Redis, 16 on a cluster. */
export function resolveHistoryStreams(configured: number, cluster: boolean): number {
  if (configured > 0) return Math.min(MAX_HISTORY_STREAMS, Math.floor(configured));
  return cluster ? DEFAULT_CLUSTER_HISTORY_STREAMS : 1;
}

/**
 * The hash tag of stream k of n: the first of `s<k>`, `s<k>.1`, `s<k>.2`, … whose slot lies in the middle
 * half of the k-th of n equal slot ranges (away from the range's edges, where a master's range may end).
 */
export function historyStreamTag(k: number, n: number): string {
  if (!Number.isInteger(n) || n < 1 || n > MAX_HISTORY_STREAMS || !Number.isInteger(k) || k < 0 || k >= n) {
    throw new RangeError(`stream ${k} of ${n}`);
  }
  const width = CLUSTER_SLOTS / n;
  const lo = k * width + width / 4;
  const hi = (k + 1) * width - width / 4;
  for (let j = 0; ; j++) {
    const tag = j === 0 ? `s${k}` : `s${k}.${j}`;
    const slot = calculateSlot(tag);
    if (slot >= lo && slot < hi) return tag;
  }
}

const keysByCount = new Map<number, readonly string[]>();

/** The N stream keys (relative to the key prefix): `loc:stream` for N = 1, else `loc:stream:{<tag>}`. */
export function historyStreamKeys(n: number): readonly string[] {
  let keys = keysByCount.get(n);
  if (!keys) {
    keys = n === 1 ? [redisKeys.locationStream] : Array.from({ length: n }, (_, k) => redisKeys.locationStreamShard(historyStreamTag(k, n)));
    keysByCount.set(n, keys);
  }
  return keys;
}

/** Which of n streams a courier's points go to: FNV-1a (32 bit) of the id's UTF-16 code units, mod n. */
export function historyStreamIndex(courierId: string, n: number): number {
  if (n <= 1) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < courierId.length; i++) {
    h ^= courierId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % n;
}

/** Registers stream keys in `loc:streams` so that every sink reads them (nothing to do for `loc:stream`). */
export async function registerHistoryStreams(redis: Redis, keys: readonly string[]): Promise<void> {
  const shards = keys.filter((k) => k !== redisKeys.locationStream);
  if (shards.length) await redis.sadd(redisKeys.locationStreams, ...shards);
}

/**
 * Every stream the sink must read: the configured ones first, then the registered ones and the legacy
 * `loc:stream` when it exists (entries written under another HISTORY_STREAMS or by an older version).
 */
export async function knownHistoryStreams(redis: Redis, configured: readonly string[]): Promise<string[]> {
  const [registered, legacy] = await Promise.all([redis.smembers(redisKeys.locationStreams), redis.exists(redisKeys.locationStream)]);
  const out = [...configured];
  const seen = new Set(out);
  const extra = [...registered, ...(legacy ? [redisKeys.locationStream] : [])].filter((k) => !seen.has(k)).sort();
  for (const k of extra) {
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(k);
  }
  return out;
}
