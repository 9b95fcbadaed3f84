/**
 * `npm test`'s runner: makes sure Redis and PostgreSQL are reachable, then runs a command (tap) with
 * REDIS_URL and DATABASE_URL in its environment, and ends with one line `N passed, N failed`.
 *
 *   tsx src/cli/with-services.ts [--redis-cluster] tap [tap args…]
 *
 * `--redis-cluster`: Redis is a private 3-master Redis Cluster started for this run (loopback ports,
 * `redis-cli --cluster create`) and torn down at the end, whatever REDIS_URL says (`npm run test:cluster`).
 *
 * Services: REDIS_URL / DATABASE_URL when set; else the default local ports when they answer; else
 * private ones under DATA_DIR/test (never the same cluster `npm start` uses, so stopping them here
 * cannot pull the database from under a running service).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../logger.js';
import { ensurePostgresServer, ensureRedis, type ResolvedService } from '../store/embedded/index.js';
import { startPrivateRedisCluster } from '../store/embedded/redis-cluster.js';

const argv = process.argv.slice(2);
const useCluster = argv[0] === '--redis-cluster';
const [command = 'tap', ...args] = useCluster ? argv.slice(1) : argv;
const log = createLogger({ level: (process.env.SERVICES_LOG_LEVEL as 'info' | undefined) ?? 'warn', name: 'with-services' });
const dataDir = join(process.env.DATA_DIR || '.data', 'test');

/** Counts from tap's closing `# { total: N, pass: N, fail: N, … }` comment. */
function parseTapSummary(output: string): { pass: number; fail: number; skip: number } | undefined {
  const matches = [...output.matchAll(/^# \{ total: (\d+)(.*)\}\s*$/gm)];
  const last = matches.at(-1);
  if (!last) return undefined;
  const field = (name: string) => Number(new RegExp(`\\b${name}: (\\d+)`).exec(last[2])?.[1] ?? 0);
  return { pass: field('pass'), fail: field('fail'), skip: field('skip') + field('todo') };
}

function resolveCommand(cmd: string): string {
  const local = join(process.cwd(), 'node_modules', '.bin', cmd);
  return existsSync(local) ? local : cmd;
}

interface Outcome {
  code: number;
  passed: number;
  failed: number;
  skipped: number;
}

async function runWithServices(): Promise<Outcome> {
  const started: ResolvedService[] = [];
  try {
    const redis: ResolvedService = useCluster
      ? { ...(await startPrivateRedisCluster({ dir: join(dataDir, `redis-cluster-${process.pid}`), log })), origin: 'private' }
      : await ensureRedis({ url: process.env.REDIS_URL || undefined, dataDir, log });
    started.push(redis);
    const pg = process.env.DATABASE_URL
      ? { url: process.env.DATABASE_URL, origin: 'env' as const, stop: async () => {} }
      : await ensurePostgresServer({ dataDir, log });
    started.push(pg);
    console.log(`# services: redis ${redis.origin} ${redis.url}, postgres ${pg.origin} ${pg.url.replace(/:[^:@/]*@/, ':***@')}`);

    const child = spawn(resolveCommand(command), args, {
      stdio: ['inherit', 'pipe', 'inherit'],
      env: { ...process.env, REDIS_URL: redis.url, DATABASE_URL: pg.url },
    });
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);

    // Pass the output through, keeping its tail to read the summary from.
    let tail = '';
    child.stdout.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      tail = (tail + chunk.toString('utf8')).slice(-200_000);
    });
    const code = await new Promise<number>((resolve) => {
      child.on('error', (err) => {
        console.error(`could not run ${command}: ${err.message}`);
        resolve(127);
      });
      child.on('close', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
    });

    const summary = parseTapSummary(tail);
    if (!summary) console.log(`# no tap summary found in the output of ${command}`);
    // A non-zero exit always counts as a failure, even when tap's counts did not say so.
    const failed = Math.max(summary?.fail ?? 0, code !== 0 ? 1 : 0);
    return { code: code !== 0 ? code : failed > 0 ? 1 : 0, passed: summary?.pass ?? 0, failed, skipped: summary?.skip ?? 0 };
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    return { code: 1, passed: 0, failed: 1, skipped: 0 };
  } finally {
    for (const svc of started.reverse()) await svc.stop().catch(() => {});
  }
}

// The count comes last, after the private services have stopped (and logged it).
const outcome = await runWithServices();
console.log(`${outcome.passed} passed, ${outcome.failed} failed${outcome.skipped ? `, ${outcome.skipped} skipped` : ''}`);
process.exitCode = outcome.code;
