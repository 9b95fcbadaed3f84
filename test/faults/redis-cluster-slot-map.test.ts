/**
 * A cluster client's slot map after the slots changed hands (a failover): ioredis follows a MOVED by itself
 * only for a lone command or a pipeline whose commands all got the same redirection. An auto-pipeline with
 * writes to several slots of the old master gets one MOVED per slot, hands them to the caller and leaves
 * the map stale; before the client refreshed its map periodically, every later batch went to the old
 * node again and the history sink (one XREADGROUP per stream, auto-pipelined) stalled for good after a
 * stream's master failed over (test/faults/redis-cluster-failover.test.ts, 1 run in 3).
 *
 * Here the failover is a manual one (`CLUSTER FAILOVER` on a replica: no data lost, no waiting on the node
 * timeout), so the test is about the client only: batches of writes to several slots of the old master
 * succeed again within a couple of refresh periods, with nobody telling the client; and at once when the
 * caller refreshes on the redirection (refreshSlotsOnRedirect).
 */
import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { startPrivateRedisCluster } from '../../src/store/embedded/redis-cluster.js';
import { CLUSTER_SLOTS_REFRESH_MS, createRedis, refreshSlotsOnRedirect } from '../../src/store/redis/client.js';
import { sleep } from '../../src/store/embedded/process.js';
import { until } from './harness.js';
import { clusterNodes, onNode } from './cluster-nodes.js';

t.setTimeout(120_000);

t.test('after a failover, auto-pipelined writes to several moved slots work again: periodically refreshed map, or at once on the redirection', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dispatchd-slot-map-'));
  const cluster = await startPrivateRedisCluster({ dir: join(dir, 'redis'), masters: 3, replicas: 1, nodeTimeoutMs: 1000 });
  t.teardown(async () => {
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const seed = cluster.nodes[0];

  /** Moves the slots of the master that owns `key` to its replica; returns the keys (of several slots) it owned. */
  async function failOverOwnerOf(key: string): Promise<string[]> {
    const slot = Number(await onNode(seed, (r) => r.call('CLUSTER', 'KEYSLOT', key)));
    const nodes = await clusterNodes(seed);
    const owner = nodes.find((n) => n.master && n.slots.some(([a, b]) => slot >= a && slot <= b))!;
    const replica = nodes.find((n) => !n.master && n.masterId === owner.id)!;
    const owned = (k: string, s: number) => owner.slots.some(([a, b]) => s >= a && s <= b) && k;
    const keys: string[] = [];
    for (let i = 0; keys.length < 6; i++) {
      const k = `sm:${key}:${i}`;
      if (owned(k, Number(await onNode(seed, (r) => r.call('CLUSTER', 'KEYSLOT', k))))) keys.push(k);
    }
    const replicaNode = { host: '127.0.0.1', port: replica.port };
    await onNode(replicaNode, (r) => r.call('CLUSTER', 'FAILOVER'));
    await until('the replica took over', async () => (await clusterNodes(seed)).some((n) => n.id === replica.id && n.master && n.slots.length > 0), 20_000, 50);
    return keys;
  }

  /** One auto-pipelined batch of writes to every key: ok, or the first error's message. */
  async function batch(redis: Redis, keys: string[]): Promise<{ ok: boolean; err?: Error }> {
    try {
      await Promise.all(keys.map((k) => redis.xadd(k, '*', 'f', '1')));
      return { ok: true };
    } catch (err) {
      return { ok: false, err: err as Error };
    }
  }

  const periodic = createRedis(cluster.url, { extra: { lazyConnect: false } });
  // no periodic refresh here: only the caller's refresh on the redirection can repair this one's map
  const eager = createRedis(cluster.url, { slotsRefreshMs: 0, extra: { lazyConnect: false } });
  t.teardown(() => {
    periodic.disconnect();
    eager.disconnect();
  });

  // 1. nobody refreshes the map: the periodic reread does
  let keys = await failOverOwnerOf('first');
  const startedAt = Date.now();
  const deadline = startedAt + 3 * CLUSTER_SLOTS_REFRESH_MS + 2000;
  let attempts = 0;
  let ok = false;
  while (!ok && Date.now() < deadline) {
    attempts++;
    ok = (await batch(periodic, keys)).ok;
    if (!ok) await sleep(50);
  }
  t.ok(ok, `writes to ${keys.length} keys of the moved slots succeed ${Date.now() - startedAt} ms after the failover (${attempts} attempts; refresh every ${CLUSTER_SLOTS_REFRESH_MS} ms)`);

  // 2. the caller refreshes on the redirection (the client has no periodic refresh): the next batch succeeds
  keys = await failOverOwnerOf('second');
  const first = await batch(eager, keys);
  t.notOk(first.ok, 'without a refresh, a batch of writes to several moved slots is refused');
  t.match(first.err?.message, /^(MOVED|ASK|CLUSTERDOWN) /, 'with a redirection');
  t.notOk((await batch(eager, keys)).ok, 'and again: ioredis did not repair its map by itself');
  refreshSlotsOnRedirect(eager, first.err);
  await until('the refreshed map is used', async () => (await batch(eager, keys)).ok, 2000, 10);
  t.pass('the batch after refreshSlotsOnRedirect succeeds');
});
