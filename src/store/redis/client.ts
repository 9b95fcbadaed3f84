import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../../logger.js';
import { redactUrl } from '../redact-url.js';

/**
 * One place that creates ioredis clients, so every client shares the key prefix and error logging.
 * `connectRedis` fails fast (one clear error) when Redis is unreachable at start instead of
 * retrying silently forever; once connected, ioredis reconnects on its own.
 */

export interface RedisClientOptions {
  keyPrefix?: string;
  log?: Logger;
  /** Shows in `CLIENT LIST`, handy when several clients share a Redis. */
  name?: string;
  extra?: RedisOptions;
}

export function createRedis(url: string, opts: RedisClientOptions = {}): Redis {
  const redis = new Redis(url, {
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
  const probe = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  probe.on('error', () => {});
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
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
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await plain.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) deleted += await plain.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    await closeRedis(plain);
  }
  return deleted;
}
