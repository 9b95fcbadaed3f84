/**
 * A/B of the history writer's two COPY paths, side by side on one fresh database (not a test):
 *
 *   npx tsx load/ab-position-writer.ts [--rounds 2] [--batches 50] [--batch 2000]
 *
 * "deduplicated" = text COPY into a temp table + INSERT … ON CONFLICT DO NOTHING (redelivered batches);
 * "direct" = binary COPY straight into courier_positions (every other batch). Reports wall time, CPU of
 * every local postgres process per row, and this process's CPU per row (building the COPY data).
 * Uses DATABASE_URL's server (default 127.0.0.1:5432).
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { migrate } from '../src/store/pg/migrate.js';
import { dropDatabase } from '../src/store/pg/pool.js';
import { PositionWriter } from '../src/store/pg/position-writer.js';
import type { StoredPoint } from '../src/store/redis/location-index.js';
import { postgresCpuSeconds } from './proc-cpu.js';

const { values: args } = parseArgs({
  options: { rounds: { type: 'string', default: '2' }, batches: { type: 'string', default: '50' }, batch: { type: 'string', default: '2000' } },
});
const [rounds, batches, batchSize] = [Number(args.rounds), Number(args.batches), Number(args.batch)];

const serverUrl = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const admin = new pg.Client({ connectionString: serverUrl });
await admin.connect();
const dbName = `dispatchd_ab_copy_${Date.now()}`;
await admin.query(`create database ${dbName}`);
const url = new URL(serverUrl);
url.pathname = `/${dbName}`;
await migrate({ databaseUrl: url.toString() });
const pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
// The two paths are private: the A/B calls them by name.
const positions = new PositionWriter(pool);
const writer = positions as unknown as Record<'copyDirect' | 'copyDeduplicated', (p: StoredPoint[]) => Promise<number>>;
let seq = 0;
const batch = (): StoredPoint[] =>
  Array.from({ length: batchSize }, (_, i) => ({ courierId: `ab-courier-${i}`, seq: ++seq, ts: Date.now(), lat: 48.85 + i * 1e-5, lng: 2.35 + i * 1e-5, acc: 5, serverTs: Date.now() }));
try {
  await positions.write(batch()); // warm-up: JIT, today's partition, connections
  for (let round = 1; round <= rounds; round++) {
    for (const [label, method] of [['deduplicated', 'copyDeduplicated'], ['direct', 'copyDirect']] as const) {
      const rows = batches * batchSize;
      const pg0 = postgresCpuSeconds();
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      for (let b = 0; b < batches; b++) await writer[method](batch());
      const wallMs = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const pgUs = (((postgresCpuSeconds() ?? NaN) - (pg0 ?? NaN)) * 1e6) / rows;
      process.stdout.write(
        `round ${round} ${label.padEnd(12)} ${rows} rows: wall ${wallMs.toFixed(0)} ms, postgres ${pgUs.toFixed(2)} µs/row, writer ${((cpu.user + cpu.system) / rows).toFixed(2)} µs/row\n`,
      );
    }
  }
} finally {
  await pool.end();
  await admin.end();
  await dropDatabase(serverUrl, dbName);
}
