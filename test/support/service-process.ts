import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { OVERLOAD_OFF, type TestContext } from './context.js';

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
      ...OVERLOAD_OFF,
      ...env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** One pino line of the service's stdout (the fields tests look at). */
export interface LogLine {
  msg?: string;
  level?: number;
  address?: string;
  pid?: number;
  pids?: number[];
  worker?: number;
  reason?: string;
  [field: string]: unknown;
}

export interface RunningService {
  child: ChildProcessWithoutNullStreams;
  logs: LogLine[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first log line matching `pred` (already seen ones included). */
  waitLog(pred: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
}

/** spawnService, with its log lines parsed and kept so a test can wait for one. */
export function runService(ctx: TestContext, env: Record<string, string> = {}): RunningService {
  const child = spawnService(ctx, env);
  const logs: LogLine[] = [];
  const waiters: { pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  createInterface({ input: child.stdout }).on('line', (line) => {
    let entry: LogLine;
    try {
      entry = JSON.parse(line) as LogLine;
    } catch {
      return;
    }
    logs.push(entry);
    for (const w of [...waiters]) {
      if (w.pred(entry)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(entry);
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    logs,
    exited,
    stderr: () => stderr,
    waitLog(pred, timeoutMs = 30_000) {
      const seen = logs.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no such log line within ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
        waiters.push({
          pred,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
      });
    },
  };
}

export interface ListeningService {
  child: ChildProcessWithoutNullStreams;
  /** e.g. http://127.0.0.1:41234 */
  address: string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * spawnService, then waits for its "dispatchd listening" log line (timeoutMs); the process is
 * stopped at the test context's cleanup (before the database is dropped).
 */
export async function runListeningService(ctx: TestContext, env: Record<string, string> = {}, timeoutMs = 60_000): Promise<ListeningService> {
  const child = spawnService(ctx, env);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (graceMs = 10_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  ctx.addCleanup(() => stop());
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`service did not listen within ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}`)), timeoutMs);
    child.once('exit', (code) => reject(new Error(`service exited (${code}) before listening; stderr: ${stderr.slice(-2000)}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; address?: string };
        if (entry.msg === 'dispatchd listening' && entry.address) {
          clearTimeout(timer);
          resolve(entry.address);
        }
      } catch {
        // not a log line
      }
    });
  });
  return { child, address, stop };
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
