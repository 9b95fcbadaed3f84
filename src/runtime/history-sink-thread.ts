/**
 * Entry of the history sink's worker thread (see SinkThread): its own Redis connection and Postgres pool,
 * one HistorySink, and a tiny protocol with the main thread: 'started' | 'drained' | 'stopped' | 'failed'.
 */
import { parentPort, workerData, isMainThread } from 'node:worker_threads';
import pg from 'pg';
import { createLogger } from '../logger.js';
import { POOL_CONNECT_TIMEOUT_MS } from '../store/pg/pool.js';
import { PositionWriter } from '../store/pg/position-writer.js';
import { HistorySink } from './history-sink.js';
import { createSinkRedis, type SinkThreadData } from './history-sink-thread-handle.js';

async function main(port: NonNullable<typeof parentPort>, data: SinkThreadData): Promise<void> {
  const log = createLogger({ level: data.logLevel, name: 'dispatchd-history-sink', format: data.logFormat });
  const redis = createSinkRedis(data.redis);
  redis.on('error', (err) => log.error({ err }, 'history sink redis error'));
  const db = new pg.Pool({
    connectionString: data.databaseUrl,
    max: 2,
    application_name: 'dispatchd-history-sink',
    connectionTimeoutMillis: POOL_CONNECT_TIMEOUT_MS,
  });
  // e.g. 57P01 at a server shutdown; the error carries the whole pg client: log the code, not the client.
  db.on('error', (err) => log.warn({ code: (err as { code?: string }).code, reason: err.message }, 'history sink postgres idle connection lost'));
  const sink = new HistorySink({ redis, writer: new PositionWriter(db), log, batchSize: data.batchSize, flushMs: data.flushMs, claimIdleMs: data.claimIdleMs, streams: data.streams, consumer: data.consumer });
  const close = async () => {
    redis.disconnect();
    await db.end().catch(() => {});
  };
  port.on('message', (m: { type: 'drain' | 'stop' }) => {
    const work = m.type === 'drain' ? sink.drain() : sink.stop();
    work
      .then(close)
      .then(
        () => port.postMessage({ type: m.type === 'drain' ? 'drained' : 'stopped' }),
        (err: unknown) => port.postMessage({ type: 'failed', message: err instanceof Error ? err.message : String(err) }),
      );
  });
  await sink.start();
  port.postMessage({ type: 'started' });
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  main(port, workerData as SinkThreadData).catch((err: unknown) => {
    port.postMessage({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
    process.exit(1);
  });
}
