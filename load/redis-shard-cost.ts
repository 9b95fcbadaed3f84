/**
 * Redis CPU per location update on one Redis and on a Redis Cluster, per shard: drives LocationIndex.write
 * directly (no service, no sockets) with the batches a busy ingest turn produces, and reads each node's
 * INFO CPU before and after.
 *
 *   tsx load/redis-shard-cost.ts --url redis://127.0.0.1:6379 [--couriers 20000 --batch 200 --rounds 100]
 *   tsx load/redis-shard-cost.ts --cluster            (starts a private 3-master cluster for the run)
 *
 * Prints one JSON line: updates, seconds, updates/s, and per node the CPU µs per update (user+sys).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import { closeRedis, connectRedis, deleteKeysWithPrefix, masterNodes } from '../src/store/redis/client.js';
import { LocationIndex, type CourierUpdate, type StoredPoint } from '../src/store/redis/location-index.js';
import { startPrivateRedisCluster } from '../src/store/embedded/redis-cluster.js';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    cluster: { type: 'boolean', default: false },
    couriers: { type: 'string', default: '20000' },
    batch: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '100' },
  },
});
const couriers = Number(values.couriers);
const batchSize = Number(values.batch);
const rounds = Number(values.rounds);

const cluster = values.cluster ? await startPrivateRedisCluster({ dir: join('.data', `shard-cost-${process.pid}`) }) : null;
const url = cluster?.url ?? values.url ?? 'redis://127.0.0.1:6379';
const prefix = `bench-shard:${randomBytes(3).toString('hex')}:`;
const redis = await connectRedis(url, { keyPrefix: prefix, name: 'bench-shard-cost' });

async function cpu(nodes: Redis[]): Promise<number[]> {
  return Promise.all(
    nodes.map(async (n) => {
      const info = await n.info('cpu');
      const f = (k: string) => Number(new RegExp(`${k}:([0-9.]+)`).exec(info)?.[1] ?? 0);
      return (f('used_cpu_user') + f('used_cpu_sys')) * 1e6;
    }),
  );
}

try {
  const index = new LocationIndex(redis, 9);
  // couriers spread over ~1° around Berlin (many zones at resolution 5), moving a little each round
  const pos = Array.from({ length: couriers }, () => ({ lat: 52 + Math.random(), lng: 13 + Math.random(), cell: null as string | null, seq: 0 }));
  const nodes = masterNodes(redis);
  const before = await cpu(nodes);
  const started = performance.now();
  let updates = 0;
  let next = 0;
  for (let r = 0; r < rounds; r++) {
    const writes: Promise<void>[] = [];
    // several flushes in flight, as several event-loop turns of a busy node would have
    for (let w = 0; w < 4; w++) {
      const us: CourierUpdate[] = [];
      const pts: StoredPoint[] = [];
      const now = Date.now();
      for (let i = 0; i < batchSize; i++) {
        const id = next++ % couriers;
        const p = pos[id];
        p.lat += (Math.random() - 0.5) * 0.001;
        p.lng += (Math.random() - 0.5) * 0.001;
        p.seq++;
        const cell = index.cellOf(p.lat, p.lng);
        us.push({ courierId: `c${id}`, serverTs: now, maxSeq: p.seq, previousCell: p.cell, current: { seq: p.seq, ts: now, lat: p.lat, lng: p.lng, cell }, window: '' });
        pts.push({ courierId: `c${id}`, seq: p.seq, ts: now, lat: p.lat, lng: p.lng, serverTs: now });
        p.cell = cell;
      }
      updates += us.length;
      writes.push(index.write(us, pts));
    }
    await Promise.all(writes);
  }
  const seconds = (performance.now() - started) / 1000;
  const after = await cpu(nodes);
  const perNode = nodes.map((n, i) => ({ node: `${n.options.host}:${n.options.port}`, cpuUsPerUpdate: +((after[i] - before[i]) / updates).toFixed(2) }));
  console.log(
    JSON.stringify({
      mode: cluster ? 'cluster' : 'single',
      updates,
      seconds: +seconds.toFixed(2),
      updatesPerS: Math.round(updates / seconds),
      perNode,
      totalCpuUsPerUpdate: +perNode.reduce((a, n) => a + n.cpuUsPerUpdate, 0).toFixed(2),
    }),
  );
} finally {
  await closeRedis(redis);
  await deleteKeysWithPrefix(url, prefix, 'bench-cleanup').catch(() => {});
  await cluster?.stop();
}
