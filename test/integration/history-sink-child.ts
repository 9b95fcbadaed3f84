/**
 * A history sink in its own process, for the crash test: the parent SIGKILLs it at random moments.
 * Env: REDIS_URL, KEY_PREFIX, DATABASE_URL, CONSUMER, STREAMS (HISTORY_STREAMS, default 0 = automatic).
 * Prints "ready" once consuming.
 */
import { createRedis } from '../../src/store/redis/client.js';
import pg from 'pg';
import { HistorySink } from '../../src/runtime/history-sink.js';
import { PositionWriter } from '../../src/store/pg/position-writer.js';

const redis = createRedis(process.env.REDIS_URL!, { keyPrefix: process.env.KEY_PREFIX, extra: { lazyConnect: false } });
const db = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 2 });
const sink = new HistorySink({
  redis,
  writer: new PositionWriter(db),
  // Small batches so a kill lands inside one (COPY, INSERT, COMMIT or before XACK).
  batchSize: 20,
  flushMs: 5,
  consumer: process.env.CONSUMER,
  streams: Number(process.env.STREAMS ?? 0),
});
await sink.start();
process.stdout.write('ready\n');
