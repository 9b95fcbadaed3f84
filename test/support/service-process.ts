import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
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
