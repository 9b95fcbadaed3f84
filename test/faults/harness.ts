/**
 * What every fault test starts for itself: its own redis-server (AOF on, free loopback port, own temp
 * folder) that it may kill -9 and restart; its own PostgreSQL cluster when it must stop one; the
 * service as a real child process on a fixed port (so clients reconnect to the same address after a
 * restart); tokens signed with the service's secret.
 */
import type { ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fastify from 'fastify';
import fastifyJwt from '@fastify/jwt';
import type { Role } from '../../src/gateway/auth.js';
import { startPrivatePostgres, startPrivateRedis, type PrivateService } from '../../src/store/embedded/index.js';
import { startPrivateRedisCluster, type PrivateCluster } from '../../src/store/embedded/redis-cluster.js';
import { isClusterUrl } from '../../src/store/redis-url.js';
import { freePort, processAlive, sleep } from '../../src/store/embedded/process.js';
import { createTestContext, serviceUrls, type TestContext } from '../support/context.js';
import { runService, type LogLine, type RunningService } from '../support/service-process.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A private redis-server (appendonly yes, appendfsync everysec) that can be killed and brought back. */
export class OwnRedis {
  private svc: PrivateService;
  private constructor(
    readonly dir: string,
    readonly port: number,
    svc: PrivateService,
  ) {
    this.svc = svc;
  }

  static async start(dir: string): Promise<OwnRedis> {
    const port = await freePort();
    return new OwnRedis(dir, port, await startPrivateRedis({ dir, port }));
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async pid(): Promise<number> {
    return Number((await readFile(join(this.dir, 'redis.pid'), 'utf8')).trim());
  }

  /** SIGKILL: no shutdown, no final AOF rewrite; what the kernel got from the AOF writes survives. */
  async kill9(): Promise<void> {
    const pid = await this.pid();
    process.kill(pid, 'SIGKILL');
    while (processAlive(pid)) await sleep(20);
  }

  /** Same port, same folder: Redis replays its append-only file. */
  async restart(): Promise<void> {
    this.svc = await startPrivateRedis({ dir: this.dir, port: this.port });
  }

  stop(): Promise<void> {
    return this.svc.stop();
  }
}

/** A private PostgreSQL cluster that can be stopped (fast shutdown) and started again on its port. */
export class OwnPostgres {
  private svc: PrivateService | null;
  private constructor(
    readonly dir: string,
    readonly port: number,
    svc: PrivateService,
  ) {
    this.svc = svc;
  }

  static async start(dir: string): Promise<OwnPostgres> {
    const port = await freePort();
    return new OwnPostgres(dir, port, await startPrivatePostgres({ dir, port }));
  }

  get serverUrl(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  async stop(): Promise<void> {
    await this.svc?.stop();
    this.svc = null;
  }

  async restart(): Promise<void> {
    this.svc = await startPrivatePostgres({ dir: this.dir, port: this.port });
  }
}

/** What startDispatchd needs: a test context, a token signer, the processes to kill at teardown. */
export interface ServiceEnv {
  ctx: TestContext;
  /** Signs a token the service accepts. */
  token(role: Role, sub: string): string;
  /** Service processes of the test: killed first at teardown, whatever state the test left. */
  processes: Set<ChildProcess>;
}

export interface FaultEnv extends ServiceEnv {
  redis: OwnRedis;
  postgres: OwnPostgres | null;
}

/**
 * Own Redis (and Postgres when `ownPostgres`), a test context on them (own database, key prefix), all
 * stopped and removed at teardown. Otherwise the test uses the shared PostgreSQL server.
 */
export async function faultEnv(t: Teardown, opts: { ownPostgres?: boolean; env?: Record<string, string> } = {}): Promise<FaultEnv> {
  const dir = await mkdtemp(join(tmpdir(), 'dispatchd-faults-'));
  // Postgres runs as an unprivileged user when the tests run as root: it must reach its folder.
  await chmod(dir, 0o755);
  const redis = await OwnRedis.start(join(dir, 'redis'));
  const postgres = opts.ownPostgres ? await OwnPostgres.start(join(dir, 'pg')) : null;
  const env = await serviceEnv(t, opts.env ?? {}, { redisUrl: redis.url, serverDatabaseUrl: postgres?.serverUrl ?? serviceUrls().serverDatabaseUrl }, async () => {
    await redis.stop();
    await postgres?.stop();
    await rm(dir, { recursive: true, force: true });
  });
  return { ...env, redis, postgres };
}

/**
 * A test context (own database on the shared PostgreSQL server, own key prefix) on a Redis Cluster: the
 * one REDIS_URL names when it is a cluster URL (`npm run test:cluster`), else a private 3-master cluster
 * started for the test and stopped at teardown (`npm test`). The test never runs on a single Redis.
 */
export async function clusterEnv(t: Teardown, env: Record<string, string> = {}): Promise<ServiceEnv & { redisUrl: string; ownCluster: boolean }> {
  const shared = process.env.REDIS_URL;
  let cluster: PrivateCluster | null = null;
  let dir: string | null = null;
  if (!shared || !isClusterUrl(shared)) {
    dir = await mkdtemp(join(tmpdir(), 'dispatchd-cluster-'));
    cluster = await startPrivateRedisCluster({ dir: join(dir, 'redis') });
  }
  const redisUrl = cluster?.url ?? shared!;
  const out = await serviceEnv(t, env, { redisUrl, serverDatabaseUrl: serviceUrls().serverDatabaseUrl }, async () => {
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return { ...out, redisUrl, ownCluster: cluster !== null };
}

/** Context, token signer and process set on the given servers; `stopServers` runs last at teardown. */
async function serviceEnv(
  t: Teardown,
  env: Record<string, string>,
  services: { redisUrl: string; serverDatabaseUrl: string },
  stopServers: () => Promise<void>,
): Promise<ServiceEnv> {
  const ctx = await createTestContext(undefined, env, services);
  const signer = fastify({ logger: false });
  await signer.register(fastifyJwt, { secret: ctx.config.jwtSecret!, sign: { algorithm: 'HS256', expiresIn: '1h' } });
  await signer.ready();
  const processes = new Set<ChildProcess>();
  t.teardown(async () => {
    for (const child of processes) {
      if (child.exitCode === null && child.signalCode === null) {
        // a SIGSTOPped process takes SIGKILL too
        child.kill('SIGKILL');
        await new Promise((resolve) => child.once('exit', resolve));
      }
    }
    await ctx.cleanup().catch(() => {});
    await signer.close();
    await stopServers();
  });
  return { ctx, processes, token: (role, sub) => signer.jwt.sign({ sub, role }) };
}

export interface Service extends RunningService {
  address: string;
  wsUrl: string;
  /** The service process (WORKERS=1) or the primary. */
  pid: number;
  listening: { pids?: number[] };
}

/** Fastify's 10 s for each plugin and ready hook can run out on a saturated machine (as src/sim/live/service.ts). */
const BOOT_TIMEOUTS = new Set(['FST_ERR_HOOK_TIMEOUT', 'FST_ERR_PLUGIN_TIMEOUT']);

/**
 * Starts dispatchd on `port` and waits until it listens; killed at the env's teardown if still running. A start
 * that fails only because boot overran fastify's timeout (busy machine) is tried once more, as the live sim does.
 */
export async function startDispatchd(env: ServiceEnv, port: number, extra: Record<string, string> = {}): Promise<Service> {
  for (let attempt = 1; ; attempt++) {
    const svc = runService(env.ctx, { PORT: String(port), ...extra });
    env.processes.add(svc.child);
    const bootTimeout = (l: LogLine) => BOOT_TIMEOUTS.has(String((l.err as { code?: unknown } | undefined)?.code));
    const first = await svc.waitLog((l) => l.msg === 'dispatchd listening' || bootTimeout(l), 120_000).catch((err: Error) => {
      // say where the start stood
      const tail = svc.logs.slice(-20).map((l) => JSON.stringify(l));
      throw new Error(`${err.message}\nlast log lines:\n${tail.join('\n')}`);
    });
    if (bootTimeout(first)) {
      await svc.exited;
      env.processes.delete(svc.child);
      if (attempt < 2) continue;
      throw new Error(`dispatchd did not boot twice: ${String((first.err as { message?: unknown }).message)}`);
    }
    const address = first.address!;
    return { ...svc, address, wsUrl: address.replace(/^http/, 'ws'), pid: svc.child.pid!, listening: first };
  }
}

/** kill -9 and wait for the exit. */
export async function kill9(svc: RunningService): Promise<void> {
  svc.child.kill('SIGKILL');
  await svc.exited;
}

/** Polls `probe` until it returns true; throws naming `what` after `timeoutMs`. */
export async function until(what: string, probe: () => Promise<boolean> | boolean, timeoutMs = 30_000, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

export { freePort, sleep };
