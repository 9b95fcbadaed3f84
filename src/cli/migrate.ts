/**
 * `npm run db:migrate`: applies pending `sql/` migrations to DATABASE_URL, or to the embedded
 * default (the same database `npm start` would use), logging each file as it runs.
 */
import { loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { ensureDatabaseUrl } from '../store/embedded/index.js';
import { migrate } from '../store/pg/migrate.js';

async function main(): Promise<number> {
  const config = loadConfig();
  const log = createLogger({ level: config.logLevel === 'silent' ? 'info' : config.logLevel, name: 'db:migrate', format: config.logFormat });
  const db = await ensureDatabaseUrl({ url: config.databaseUrl, dataDir: config.dataDir, log, probeLocal: config.localServices === 'try' });
  try {
    const applied = await migrate({ databaseUrl: db.url, log });
    console.error(applied.length ? `applied ${applied.length} migration(s): ${applied.join(', ')}` : 'database schema is up to date');
    return 0;
  } finally {
    await db.stop();
  }
}

try {
  process.exitCode = await main();
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
}
