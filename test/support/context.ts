import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Pool } from 'pg';
import { loadConfig, type Config } from '../../src/config.js';
import { connectRedis, closeRedis, deleteKeysWithPrefix, redisAnswers } from '../../src/store/redis/client.js';
import { connectPool, dropDatabase, ensureDatabase, pgAnswers, withDatabase } from '../../src/store/pg/pool.js';
import { migrate } from '../../src/store/pg/migrate.js';

/**
 * Everything an integration test needs on real services, isolated from every other test:
 * its own freshly created and migrated Postgres database, and its own Redis key prefix.
 * Services come from REDIS_URL / DATABASE_URL (set by `npm test`'s wrapper), else the default
 * local ports; if neither answers, the test fails loudly (never skipped).
 */

export interface TestContext {
  config: Config;
  /** ioredis with `keyPrefix` set to the test's prefix. */
  redis: Redis;
  /** Pool on the test's own database, migrated. */
  db: Pool;
  keyPrefix: string;
  /** URL of the test's own database. */
  databaseUrl: string;
  redisUrl: string;
  /** Runs `fn` at the start of cleanup (last added first), before connections close: apps, sockets. */
  addCleanup(fn: () => unknown): void;
  /** Closes what addCleanup registered, then the connections; drops the database and the prefix's keys. */
  cleanup(): Promise<void>;
}

export interface Teardownable {
  teardown(fn: () => unknown): void;
}

const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export function serviceUrls(): { redisUrl: string; serverDatabaseUrl: string } {
  return {
    redisUrl: process.env.REDIS_URL || DEFAULT_REDIS_URL,
    serverDatabaseUrl: process.env.DATABASE_URL || DEFAULT_DATABASE_URL,
  };
}

export function uniqueId(): string {
  return `${process.pid.toString(36)}_${randomBytes(4).toString('hex')}`;
}

/**
 * @param t when given (a tap test), cleanup is registered as its teardown.
 * @param env extra environment for loadConfig (e.g. `{ STALE_AFTER_MS: '500' }`).
 * @param services other Redis / Postgres servers than the shared ones (fault tests start their own).
 */
/** Every overload limit off (the tests that exercise shedding set theirs). */
export const OVERLOAD_OFF: Readonly<Record<string, string>> = {
  OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
  OVERLOAD_MAX_ELU: '0',
  OVERLOAD_MAX_HEAP_MB: '0',
  OVERLOAD_MAX_FLUSH_BACKLOG: '0',
};

export async function createTestContext(
  t?: Teardownable,
  env: Record<string, string> = {},
  services: { redisUrl: string; serverDatabaseUrl: string } = serviceUrls(),
): Promise<TestContext> {
  const { redisUrl, serverDatabaseUrl } = services;
  if (!(await redisAnswers(redisUrl, 2000))) {
    throw new Error(`Integration tests need Redis: nothing answers at ${redisUrl}. Run them with \`npm test\` or set REDIS_URL.`);
  }
  if (!(await pgAnswers(serverDatabaseUrl, 2000))) {
    throw new Error(`Integration tests need PostgreSQL: nothing answers at ${serverDatabaseUrl}. Run them with \`npm test\` or set DATABASE_URL.`);
  }
  const id = uniqueId();
  const keyPrefix = `test:${id}:`;
  const dbName = `dispatchd_test_${id}`;
  await ensureDatabase(serverDatabaseUrl, dbName);
  const databaseUrl = withDatabase(serverDatabaseUrl, dbName);
  await migrate({ databaseUrl });

  const config = loadConfig({
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    HOST: '127.0.0.1',
    PORT: '0',
    JWT_SECRET: randomBytes(32).toString('hex'),
    REDIS_KEY_PREFIX: keyPrefix,
    // tests drive dispatch rounds themselves (app.dispatcher.runRound) unless they turn the loop on
    DISPATCH: 'off',
    // a busy test machine must not shed the tests' writes: overload tests set their limits themselves
    ...OVERLOAD_OFF,
    ...env,
    REDIS_URL: redisUrl,
    DATABASE_URL: databaseUrl,
  });
  const redis = await connectRedis(redisUrl, { keyPrefix, name: `test-${id}` });
  const db = await connectPool(databaseUrl, { max: 5 });

  let cleaned = false;
  const extra: (() => unknown)[] = [];
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    for (const fn of extra.reverse()) await fn();
    await closeRedis(redis);
    await db.end().catch(() => {});
    await deleteKeys(redisUrl, keyPrefix);
    await dropDatabase(serverDatabaseUrl, dbName);
  };
  t?.teardown(cleanup);
  return { config, redis, db, keyPrefix, databaseUrl, redisUrl, addCleanup: (fn) => extra.push(fn), cleanup };
}

/** Deletes every key under `prefix` (the test's own). */
export function deleteKeys(redisUrl: string, prefix: string): Promise<number> {
  return deleteKeysWithPrefix(redisUrl, prefix, 'test-cleanup');
}

export { dropDatabase };
