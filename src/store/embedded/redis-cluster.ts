import type { ChildProcess } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import type { Logger } from '../../logger.js';
import { clusterUrl, type RedisNode } from '../redis-url.js';
import { findExecutable, freePort, run, spawnService, stopChild, waitUntil } from './process.js';
import { MissingBinaryError, privateService, type PrivateService } from './redis.js';

/**
 * A private Redis Cluster for tests and `npm run redis:cluster`: `masters` redis-server processes (the
 * Debian binary) on free loopback ports with cluster mode on, joined by `redis-cli --cluster create`,
 * optionally one replica per master. Throwaway: no persistence, a fresh directory each start.
 */

export interface PrivateCluster extends PrivateService {
  /** `redis+cluster://127.0.0.1:p1,…` (the masters as seed nodes). */
  url: string;
  nodes: RedisNode[];
  /** The processes, masters first, for failover tests (kill one, see what the client does). */
  processes: { node: RedisNode; child: ChildProcess }[];
}

export async function startPrivateRedisCluster(opts: {
  dir: string;
  masters?: number;
  replicas?: 0 | 1;
  /** `cluster-node-timeout`: how long a master may be unreachable before its replica takes over (default 2000). */
  nodeTimeoutMs?: number;
  log?: Logger;
}): Promise<PrivateCluster> {
  const server = findExecutable('redis-server', ['/usr/sbin', '/usr/local/bin']);
  const cli = findExecutable('redis-cli', ['/usr/local/bin']);
  if (!server || !cli) {
    throw new MissingBinaryError('redis-server / redis-cli not found on PATH: install them (Debian: apt-get install redis-server redis-tools)');
  }
  const masters = opts.masters ?? 3;
  const replicas = opts.replicas ?? 0;
  const dir = resolve(opts.dir);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });

  const processes: { node: RedisNode; child: ChildProcess }[] = [];
  const stopAll = async () => {
    await Promise.all(processes.map((p) => stopChild(p.child, 'SIGTERM', 5_000)));
  };
  try {
    for (let i = 0; i < masters * (1 + replicas); i++) {
      const port = await freePort();
      const nodeDir = join(dir, String(port));
      await mkdir(nodeDir, { recursive: true });
      const logFile = join(nodeDir, 'redis.log');
      const args = [
        '--port', String(port), '--bind', '127.0.0.1', '--dir', nodeDir,
        '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', String(opts.nodeTimeoutMs ?? 2000),
        '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning',
      ];
      const child = spawnService(server, args, logFile);
      const node = { host: '127.0.0.1', port };
      processes.push({ node, child });
      await waitUntil(`cluster node on port ${port}`, () => pingNode(node), { timeoutMs: 10_000, child, logFile });
    }
    await run(cli, [
      '--cluster', 'create', ...processes.map((p) => `${p.node.host}:${p.node.port}`),
      '--cluster-replicas', String(replicas), '--cluster-yes',
    ]);
    // every node must agree the cluster is whole before a client is handed the URL
    await waitUntil('redis cluster state ok', async () => (await Promise.all(processes.map((p) => clusterOk(p.node)))).every(Boolean), {
      timeoutMs: 20_000,
    });
    // and every replica has finished its first sync: before that it cannot take over a failed master
    if (replicas > 0) {
      await waitUntil('redis cluster replicas in sync', async () => (await Promise.all(processes.map((p) => replicaSynced(p.node)))).filter(Boolean).length === masters * replicas, {
        timeoutMs: 30_000,
      });
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  const nodes = processes.slice(0, masters).map((p) => p.node);
  const url = clusterUrl(nodes);
  opts.log?.info({ url, dir, masters, replicas }, 'started private redis cluster');
  const svc = privateService(url, async () => {
    await stopAll();
    await rm(dir, { recursive: true, force: true });
    opts.log?.info({ url }, 'stopped private redis cluster');
  });
  return { ...svc, nodes, processes };
}

/** A one-off plain connection to `node` (no retries, no offline queue), closed after `fn`; errors propagate. */
export async function onNode<T>(node: RedisNode, fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis({ host: node.host, port: node.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false, connectTimeout: 500 });
  r.on('error', () => {});
  try {
    await r.connect();
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

/** onNode, answering `fallback` when the node cannot be reached or the command fails (start-up polling). */
function withNode<T>(node: RedisNode, fn: (r: Redis) => Promise<T>, fallback: T): Promise<T> {
  return onNode(node, fn).catch(() => fallback);
}

function pingNode(node: RedisNode): Promise<boolean> {
  return withNode(node, async (r) => (await r.ping()) === 'PONG', false);
}

function clusterOk(node: RedisNode): Promise<boolean> {
  return withNode(node, async (r) => String(await r.call('CLUSTER', 'INFO')).includes('cluster_state:ok'), false);
}

function replicaSynced(node: RedisNode): Promise<boolean> {
  return withNode(
    node,
    async (r) => {
      const info = await r.info('replication');
      return info.includes('role:slave') && info.includes('master_link_status:up') && info.includes('master_sync_in_progress:0');
    },
    false,
  );
}
