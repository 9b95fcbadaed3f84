import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Logger } from '../../logger.js';
import { parseRedisUrl, redactRedisUrl as redactUrl, type RedisTarget } from '../redis-url.js';

/**
 * One place that creates ioredis clients, so every client shares the key prefix and error logging.
 * `connectRedis` fails fast (one clear error) when Redis is unreachable at start instead of
 * retrying silently forever; once connected, ioredis reconnects on its own.
 *
 * A `redis+cluster://` URL (store/redis-url.ts) gives an ioredis `Cluster` typed as `Redis`: the rest of
 * the code is unaware, because every multi-key command it sends touches keys of one hash slot (the key
 * design in docs/scaling.md) and the few places that batch keys of many slots go through `batch`
 * (store/redis/batch.ts) or `scanKeys` below. Cluster clients auto-pipeline: commands issued in one
 * event-loop turn go out as one pipeline per node.
 */

export interface RedisClientOptions {
  keyPrefix?: string;
  log?: Logger;
  /** Shows in `CLIENT LIST`, handy when several clients share a Redis. */
  name?: string;
  extra?: RedisOptions;
  /** Cluster only: how often the slot map is reread unprompted (default CLUSTER_SLOTS_REFRESH_MS; 0 = never, tests). */
  slotsRefreshMs?: number;
}

export function createRedis(url: string, opts: RedisClientOptions = {}): Redis {
  const target = parseRedisUrl(url);
  const redis =
    target.kind === 'cluster'
      ? newCluster(target, opts)
      : new Redis(url, {
          lazyConnect: true,
          keyPrefix: opts.keyPrefix,
          connectionName: opts.name ?? 'dispatchd',
          maxRetriesPerRequest: 3,
          ...opts.extra,
        });
  let lastError = '';
  redis.on('error', (err: Error) => {
    // ioredis emits one error per reconnect attempt: log changes, not repeats.
    if (err.message === lastError) return;
    lastError = err.message;
    opts.log?.error({ err, redis: redactUrl(url) }, 'redis error');
  });
  redis.on('ready', () => {
    lastError = '';
  });
  return redis;
}

/** An ioredis Cluster behind the `Redis` type (the commands the code uses have the same signatures). */
function newCluster(target: Extract<RedisTarget, { kind: 'cluster' }>, opts: RedisClientOptions): Redis {
  const extra = opts.extra ?? {};
  const clusterOpts: ClusterOptions = {
    lazyConnect: extra.lazyConnect ?? true,
    keyPrefix: opts.keyPrefix ?? extra.keyPrefix,
    // one pipeline per node per event-loop turn for everything issued in that turn
    enableAutoPipelining: true,
    scaleReads: 'master',
    // Failover (a master dies, its replica takes over after `cluster-node-timeout` + an election): a command
    // for the dead master's slots fails with "Connection is closed" / CLUSTERDOWN, and ioredis retries it
    // every 100 ms, refreshing the slot map each time, up to `maxRedirections` times; while the client
    // itself is reconnecting (slot map unreadable) commands wait in its offline queue. Measured on a private
    // cluster: a lone command fails after 1.7–3.9 s while no replica has taken over (so the ingest answers
    // `store_unavailable` and the courier resends), and completes as soon as the promoted replica is in
    // the slot map (test/faults/redis-cluster-failover.test.ts). Under the service's load a flush has also
    // waited ~13 s in the client's offline queue, which has no deadline (docs/scaling.md, "Failover"). Longer would hold every ack of the turn
    // (and grow the flush backlog) through a long failover; shorter would fail flushes a fast failover
    // would serve. These are ioredis' defaults, set here because that behaviour depends on them.
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    maxRedirections: 16,
    enableOfflineQueue: extra.enableOfflineQueue ?? true,
    ...(extra.retryStrategy === null || (extra.maxRetriesPerRequest === 0 && extra.enableOfflineQueue === false)
      ? { clusterRetryStrategy: () => null }
      : {}),
    redisOptions: {
      username: target.username,
      password: target.password,
      ...(target.tls ? { tls: {} } : {}),
      connectionName: opts.name ?? 'dispatchd',
      maxRetriesPerRequest: 3,
      ...extra,
      keyPrefix: undefined,
      lazyConnect: undefined,
    },
  };
  const cluster = new Cluster(
    target.nodes.map((n) => ({ host: n.host, port: n.port })),
    clusterOpts,
  );
  keepSlotMapFresh(cluster, opts.slotsRefreshMs ?? CLUSTER_SLOTS_REFRESH_MS);
  return cluster as unknown as Redis;
}

const slotsRefreshMsOf = new WeakMap<Cluster, number>();

/**
 * Rereads the cluster's slot map every `ms` while the client is ready. ioredis follows a MOVED itself only
 * for a lone command, or a pipeline whose commands all failed with the same redirection; an auto-pipeline
 * mixing commands of several moved slots (the sink's XREADGROUP per stream, a flush touching several shards)
 * hands the MOVEDs to the caller and leaves the map stale — after a failover every later batch went to the
 * wrong node and the history sink stalled for good (test/faults/redis-cluster-slot-map.test.ts). ioredis 5
 * refreshes periodically only with `slotsRefreshInterval`, whose timer is not unref'd and is re-armed by a
 * refresh still in flight when the client disconnects (a test process then never exits): hence our own,
 * unref'd timer, stopped when the client ends. Callers also refresh at once on a redirection
 * (refreshSlotsOnRedirect).
 */
function keepSlotMapFresh(cluster: Cluster, ms: number): void {
  slotsRefreshMsOf.set(cluster, ms);
  if (ms <= 0) return;
  const timer = setInterval(() => {
    if (cluster.status === 'ready') cluster.refreshSlotsCache();
  }, ms);
  timer.unref();
  cluster.once('end', () => clearInterval(timer));
}

/** How often a cluster client rereads the slot map even when nothing redirected it. */
export const CLUSTER_SLOTS_REFRESH_MS = 1000;

/**
 * After a command failed with MOVED/ASK/CLUSTERDOWN on a cluster client: the slot map is stale (a failover or
 * resharding), reread it now rather than at the next periodic refresh. A no-op on one Redis or other errors.
 */
export function refreshSlotsOnRedirect(redis: Redis, err: unknown): void {
  if (!isCluster(redis) || !(err instanceof Error) || !/^(MOVED|ASK|CLUSTERDOWN) /.test(err.message)) return;
  (redis as unknown as Cluster).refreshSlotsCache();
}

/** True when `redis` is a Redis Cluster client (created from a `redis+cluster://` URL). */
export function isCluster(redis: Pick<Redis, 'options'>): boolean {
  return (redis as unknown as { isCluster?: boolean }).isCluster === true;
}

/** A second client like `redis` (same server(s), prefix and options), e.g. a subscriber connection. */
export function duplicateRedis(redis: Redis, overrides: RedisOptions = {}): Redis {
  if (isCluster(redis)) {
    const cluster = redis as unknown as Cluster;
    const copy = cluster.duplicate([], overrides as ClusterOptions);
    keepSlotMapFresh(copy, slotsRefreshMsOf.get(cluster) ?? CLUSTER_SLOTS_REFRESH_MS);
    return copy as unknown as Redis;
  }
  return redis.duplicate(overrides);
}

/** The clients to run node-local commands on (SCAN, INFO): every master of a cluster, else `redis` itself. */
export function masterNodes(redis: Redis): Redis[] {
  return isCluster(redis) ? (redis as unknown as Cluster).nodes('master') : [redis];
}

/**
 * Every key matching `pattern` (SCAN, never KEYS; on a cluster on every master), in pages. SCAN patterns
 * and the keys it returns are full keys: ioredis' keyPrefix does not apply.
 */
export async function* scanKeys(redis: Redis, pattern: string, count = 1000): AsyncGenerator<string[]> {
  for (const node of masterNodes(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      cursor = next;
      if (keys.length) yield keys;
    } while (cursor !== '0');
  }
}

export async function connectRedis(url: string, opts: RedisClientOptions = {}): Promise<Redis> {
  const redis = createRedis(url, opts);
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    throw new Error(`Redis at ${redactUrl(url)} is unreachable: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return redis;
}

/** True when a Redis server answers PING at `url` within `timeoutMs`. Never throws. */
export async function redisAnswers(url: string, timeoutMs = 1000): Promise<boolean> {
  let probe: Redis;
  try {
    probe = createRedis(url, {
      name: 'dispatchd-probe',
      extra: { connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false },
    });
  } catch {
    return false;
  }
  probe.on('error', () => {});
  if (isCluster(probe)) (probe as unknown as Cluster).options.clusterRetryStrategy = () => null;
  let timer: NodeJS.Timeout | undefined;
  try {
    const answer = (async () => {
      await probe.connect();
      return (await probe.ping()) === 'PONG';
    })();
    answer.catch(() => {});
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs + 500);
    });
    return await Promise.race([answer, late]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
    probe.disconnect();
  }
}

/** Closes a client politely (QUIT), falling back to a hard disconnect. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
}

/**
 * Deletes every key under `prefix` (SCAN + UNLINK, never KEYS, so a shared Redis is not blocked): what a
 * test, replay or benchmark leaves behind. Uses its own plain client: keys are matched in full, unprefixed.
 */
export async function deleteKeysWithPrefix(redisUrl: string, prefix: string, name = 'dispatchd-cleanup'): Promise<number> {
  const plain = await connectRedis(redisUrl, { name });
  const cluster = isCluster(plain);
  let deleted = 0;
  try {
    for await (const keys of scanKeys(plain, `${prefix}*`)) {
      // on a cluster the keys of one page lie in many slots: one UNLINK each (auto-pipelined per node)
      if (cluster) deleted += (await Promise.all(keys.map((k) => plain.unlink(k)))).reduce((a, b) => a + b, 0);
      else deleted += await plain.unlink(...keys);
    }
  } finally {
    await closeRedis(plain);
  }
  return deleted;
}
