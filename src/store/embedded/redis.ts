import type { ChildProcess } from 'node:child_process';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from '../../logger.js';
import { redisAnswers } from '../redis/client.js';
import { findExecutable, freePort, processAlive, spawnService, stopChild, waitUntil } from './process.js';

/**
 * A private redis-server for development and tests: loopback only, a free port, append-only file on.
 * Redis is not only live state: the location stream holds acked points until the history sink has
 * committed them to Postgres, so a restart must not lose it (AOF, fsync every second).
 */

export interface PrivateService {
  url: string;
  /** Stops the process and waits for it to exit. Safe to call twice. */
  stop(): Promise<void>;
}

/** A PrivateService whose stop runs at most once, however often it is called. */
export function privateService(url: string, stopOnce: () => Promise<void>): PrivateService {
  let stopping: Promise<void> | undefined;
  return { url, stop: () => (stopping ??= stopOnce()) };
}

export class MissingBinaryError extends Error {
  readonly code = 'embedded_unavailable';
}

export async function startPrivateRedis(opts: {
  dir: string;
  port?: number;
  log?: Logger;
  /** false: no AOF (a throwaway Redis, like the private cluster's nodes; benchmarks compare the two). Default true. */
  appendonly?: boolean;
}): Promise<PrivateService> {
  const bin = findExecutable('redis-server', ['/usr/sbin', '/usr/local/bin']);
  if (!bin) {
    throw new MissingBinaryError('redis-server not found on PATH: install it (Debian: apt-get install redis-server) or set REDIS_URL');
  }
  const dir = resolve(opts.dir);
  await mkdir(dir, { recursive: true });
  const pidFile = join(dir, 'redis.pid');
  await killLeftover(pidFile, opts.log);

  const port = opts.port ?? (await freePort());
  const logFile = join(dir, 'redis.log');
  // AOF with fsync every second (at most ~1 s of writes lost on a machine crash, none on a process restart);
  // no RDB snapshots on top (`--save ""`): the AOF is the copy that is read back.
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--pidfile', pidFile,
    '--save', '', '--appendonly', opts.appendonly === false ? 'no' : 'yes', '--appendfsync', 'everysec',
    '--daemonize', 'no', '--loglevel', 'warning',
  ];
  const child: ChildProcess = spawnService(bin, args, logFile);
  const url = `redis://127.0.0.1:${port}`;
  try {
    await waitUntil(`private redis-server on port ${port}`, () => redisAnswers(url, 500), { timeoutMs: 10_000, child, logFile });
  } catch (err) {
    await stopChild(child, 'SIGKILL');
    throw err;
  }
  opts.log?.info({ url, dir, pid: child.pid }, 'started private redis-server');
  return privateService(url, async () => {
    await stopChild(child, 'SIGTERM');
    await rm(pidFile, { force: true });
    opts.log?.info({ url }, 'stopped private redis-server');
  });
}

/** A redis-server left by a process that died without stopping it. */
async function killLeftover(pidFile: string, log?: Logger): Promise<void> {
  let pid: number;
  try {
    pid = Number((await readFile(pidFile, 'utf8')).trim());
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !processAlive(pid)) return;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (!cmdline.includes('redis-server')) return;
  log?.warn({ pid }, 'stopping a leftover private redis-server');
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 50 && processAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
}
