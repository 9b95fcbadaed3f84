/**
 * Issue 11, shutdown: a shutdown whose final history flush fails exits non-zero and says what was left
 * where; dead consumers of the history group are removed once nothing is pending with them.
 * Real process, real Redis and Postgres (reached through a TCP proxy the test breaks).
 */
import t from 'tap';
import WebSocket from 'ws';
import { createTestContext, buildTestApp, serviceListening, spawnService, type ServiceLogEntry } from '../support/index.js';
import { HistorySink, HISTORY_GROUP } from '../../src/runtime/history-sink.js';
import { PositionWriter } from '../../src/store/pg/position-writer.js';
import { LOCATION_STREAM, packPoints } from '../../src/store/redis/location-index.js';
import { connectRedis, closeRedis } from '../../src/store/redis/client.js';
import { faultProxy } from './fault-proxy.js';
import { waitFor } from './ingest-helpers.js';

const ctx = await createTestContext(t);

function consumers(): Promise<string[]> {
  return (ctx.redis.call('XINFO', 'CONSUMERS', ctx.keyPrefix + LOCATION_STREAM, HISTORY_GROUP) as Promise<unknown[][]>).then((list) =>
    list.map((fields) => String(fields[fields.indexOf('name') + 1])).sort(),
  );
}

t.test('SIGTERM while PostgreSQL is down: exit 1, and the log counts the acked points left in the stream', async (t) => {
  const direct = new URL(ctx.databaseUrl);
  const proxy = await faultProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
  t.teardown(() => proxy.close());
  const viaProxy = new URL(ctx.databaseUrl);
  viaProxy.host = `127.0.0.1:${proxy.port}`;
  const child = spawnService(ctx, { DATABASE_URL: viaProxy.toString(), HISTORY_FLUSH_MS: '20' });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const logs: ServiceLogEntry[] = [];
  const address = await serviceListening(child, logs);

  // an in-process app only to sign the token: its own history sink must not drain the stream meanwhile
  const signer = await buildTestApp(ctx);
  await signer.app.historySink.stop();
  const token = signer.token('courier', 'c-left');
  const ws = new WebSocket(`${address.replace('http', 'ws')}/v1/courier?token=${token}`);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const replies: string[] = [];
  ws.on('message', (m) => replies.push(m.toString()));
  ws.on('error', () => {});
  proxy.down();
  const now = Date.now();
  ws.send(JSON.stringify({ type: 'locs', points: [1, 2, 3].map((seq) => ({ seq, ts: now - 5000 + seq * 1000, lat: 52.52, lng: 13.405 + seq * 1e-5 })) }));
  await waitFor(async () => replies.length, (n) => n > 0);
  t.match(JSON.parse(replies[0]), { type: 'ack', seq: 3 }, 'acked while PostgreSQL is down');

  child.kill('SIGTERM');
  t.equal(await exited, 1, 'exit code 1: the final history flush failed');
  const left = logs.find((l) => l.msg?.startsWith('drainer failed'));
  t.match(left?.msg, /3 acked points in 1 entries left in the Redis stream loc:stream/, 'the log says what was left where');
  t.ok(logs.some((l) => l.msg?.startsWith('shutdown left work undone')));
  t.equal(await ctx.redis.xlen(LOCATION_STREAM), 1, 'the points are still in the stream for the next start');
});

t.test('a dead consumer is removed from the history group once its pending entries are claimed', async (t) => {
  await ctx.redis.del(LOCATION_STREAM);
  const key = ctx.keyPrefix + LOCATION_STREAM;
  await ctx.redis.call('XGROUP', 'CREATE', key, HISTORY_GROUP, '0', 'MKSTREAM');
  const point = { courierId: 'ghosted', seq: 1, ts: Date.now() - 1000, lat: 52.5, lng: 13.4, serverTs: Date.now() };
  await ctx.redis.xadd(LOCATION_STREAM, '*', 'p', packPoints([point]));
  // a process that read the entry and died (its consumer and pending entry stay behind)
  await ctx.redis.xreadgroup('GROUP', HISTORY_GROUP, 'ghost', 'COUNT', 10, 'STREAMS', LOCATION_STREAM, '>');
  t.same(await consumers(), ['ghost']);

  const redis = await connectRedis(ctx.redisUrl, { keyPrefix: ctx.keyPrefix, extra: { maxRetriesPerRequest: null } });
  t.teardown(() => closeRedis(redis));
  const sink = new HistorySink({ redis, writer: new PositionWriter(ctx.db), batchSize: 100, flushMs: 10, consumer: 'alive', claimIdleMs: 1, staleConsumerMs: 1 });
  await sink.start();
  t.teardown(() => sink.stop());
  await waitFor(() => ctx.db.query("select 1 from courier_positions where courier_id = 'ghosted'").then((r) => r.rowCount ?? 0), (n) => n === 1);
  t.same(await waitFor(consumers, (c) => !c.includes('ghost')), ['alive'], 'the ghost is gone, the live consumer stays');
  await sink.drain();
  t.same(await consumers(), [], 'a drained sink leaves no consumer behind');
});
