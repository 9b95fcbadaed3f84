import pg from 'pg';
import type { Logger } from '../../logger.js';
import { redactUrl } from '../redact-url.js';

/**
 * The Postgres pool. An idle client losing its connection emits 'error' on the pool; without a
 * listener that would crash the process, so it is logged instead (the pool replaces the client).
 */

export type Pool = pg.Pool;

/** Longest wait for a connection (a new one, or a free one from a busy pool) before a query fails. */
export const POOL_CONNECT_TIMEOUT_MS = 2000;

export function createPool(databaseUrl: string, opts: { log?: Logger; max?: number } = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: opts.max ?? 10,
    // PostgreSQL unreachable: a request fails within this (503 dependency_unavailable), never hangs
    connectionTimeoutMillis: POOL_CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: 30_000,
    application_name: 'dispatchd',
  });
  // e.g. 57P01 when the server shuts down or an admin ends the session. The error carries the whole pg
  // client (`err.client`): log what happened, not the client.
  pool.on('error', (err) => opts.log?.warn({ code: (err as { code?: string }).code, reason: err.message }, 'postgres idle connection lost'));
  return pool;
}

/** Creates the pool and checks one round trip, so a bad DATABASE_URL fails at start with one message. */
export async function connectPool(databaseUrl: string, opts: { log?: Logger; max?: number } = {}): Promise<pg.Pool> {
  const pool = createPool(databaseUrl, opts);
  try {
    await pool.query('select 1');
  } catch (err) {
    await pool.end().catch(() => {});
    throw new Error(`Postgres at ${redactUrl(databaseUrl)} is unreachable: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  return pool;
}

/** True when Postgres accepts a connection at `databaseUrl` within `timeoutMs`. Never throws. */
export async function pgAnswers(databaseUrl: string, timeoutMs = 1000): Promise<boolean> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Creates `name` on the server of `adminUrl` unless it exists. */
export async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (!rowCount) {
      try {
        await client.query(`create database ${client.escapeIdentifier(name)}`);
      } catch (err) {
        // Another process may have created it between the check and here.
        if ((err as { code?: string }).code !== '42P04') throw err;
      }
    }
  } finally {
    await client.end();
  }
}

/** Drops `name` on the server of `adminUrl`, closing its connections first; nothing if it is gone. */
export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`drop database if exists ${client.escapeIdentifier(name)} with (force)`);
  } finally {
    await client.end();
  }
}

/** Same server, another database. */
export function withDatabase(databaseUrl: string, database: string): string {
  const u = new URL(databaseUrl);
  u.pathname = '/' + encodeURIComponent(database);
  return u.toString();
}
