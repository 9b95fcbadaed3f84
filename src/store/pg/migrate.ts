import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import type { Logger } from '../../logger.js';

/**
 * Schema migrations: plain SQL files `sql/NNNN_name.sql`, applied in name order by node-pg-migrate
 * (well kept, understands SQL files, records each applied file in `schema_migrations`, and takes a
 * Postgres advisory lock so two starting processes never migrate at once). A file may hold
 * `-- Up Migration` / `-- Down Migration` sections; without markers the whole file is "up".
 * All pending files run in one transaction: a failing file leaves the schema as it was.
 */

export const MIGRATIONS_TABLE = 'schema_migrations';
export const SQL_DIR = fileURLToPath(new URL('../../../sql', import.meta.url));

export interface MigrateOptions {
  databaseUrl: string;
  log?: Logger;
  dir?: string;
}

/** Applies every pending migration; returns the names applied (empty when up to date). */
export async function migrate({ databaseUrl, log, dir = SQL_DIR }: MigrateOptions): Promise<string[]> {
  const say = (level: 'info' | 'warn' | 'error') => (msg: string) => log?.[level]({ migrations: dir }, msg.trim());
  const applied = await runner({
    databaseUrl,
    dir,
    direction: 'up',
    migrationsTable: MIGRATIONS_TABLE,
    // Files land from parallel branches (0002 may arrive after 0003 ran on a dev database), so a
    // missing lower number is applied late instead of refusing to start; keep migrations independent.
    checkOrder: false,
    singleTransaction: true,
    advisoryLockMode: 'wait',
    ignorePattern: '(\\..*)|(.*\\.md)',
    logger: { info: say('info'), warn: say('warn'), error: say('error') },
  });
  const names = applied.map((m) => m.name);
  log?.info({ applied: names, count: names.length }, names.length ? 'migrations applied' : 'schema up to date');
  return names;
}
