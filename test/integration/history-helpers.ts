/** History sink tests: a sink in its own process (history-sink-child.ts), started and SIGKILLed. */
import { spawn, type ChildProcess } from 'node:child_process';
import type { TestContext } from '../support/index.js';

/** Starts a sink process as consumer `consumer` on the context's Redis, prefix and database; resolves once it reads. */
export function startSinkChild(ctx: TestContext, consumer: string, env: Record<string, string> = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import=tsx', new URL('./history-sink-child.ts', import.meta.url).pathname], {
    env: { ...process.env, REDIS_URL: ctx.redisUrl, KEY_PREFIX: ctx.keyPrefix, DATABASE_URL: ctx.databaseUrl, CONSUMER: consumer, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve(child));
    child.on('exit', (code) => reject(new Error(`sink child exited early (${code})`)));
  });
}

/** SIGKILL: the sink dies mid-batch, leaving what it read pending in the stream group. */
export function killChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
