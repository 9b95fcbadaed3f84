import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { TestContext } from './context.js';

const ROOT = new URL('../../', import.meta.url).pathname;

/**
 * The real process (`src/main.ts` through tsx) on a free loopback port, against the test's Redis key prefix
 * and database, logging at info on stdout; `env` overrides come last.
 */
export function spawnService(ctx: TestContext, env: Record<string, string> = {}): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      REDIS_URL: ctx.redisUrl,
      DATABASE_URL: ctx.databaseUrl,
      REDIS_KEY_PREFIX: ctx.keyPrefix,
      JWT_SECRET: ctx.config.jwtSecret,
      SHUTDOWN_TIMEOUT_MS: '8000',
      ...env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** A log record of the spawned service (pino JSON on stdout). */
export interface ServiceLogEntry {
  msg?: string;
  address?: string;
  level?: number;
  [k: string]: unknown;
}

/**
 * Collects the service's log records into `logs` (as they come, also after start) and resolves with its
 * address once it logs 'dispatchd listening'; rejects if it exits first or does not start within 30 s.
 */
export function serviceListening(child: ChildProcessWithoutNullStreams, logs: ServiceLogEntry[]): Promise<string> {
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`service did not start: ${stderr}`)), 30_000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as ServiceLogEntry;
        logs.push(entry);
        if (entry.msg === 'dispatchd listening') {
          clearTimeout(timer);
          resolve(entry.address!);
        }
      } catch {
        // not a log line
      }
    });
    child.on('exit', () => reject(new Error(`service exited early: ${stderr}`)));
  });
}
