import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import t from 'tap';
import { ConfigError, configKeys, loadConfig } from '../../src/config.js';

t.test('defaults: an empty environment gives a usable, safe config', async (t) => {
  const c = loadConfig({});
  t.equal(c.port, 8080);
  t.equal(c.host, '127.0.0.1', 'loopback unless told otherwise');
  t.equal(c.redisUrl, undefined, 'unset → embedded default');
  t.equal(c.databaseUrl, undefined);
  t.equal(c.redisKeyPrefix, 'dispatchd:');
  t.equal(c.logLevel, 'info');
  t.equal(c.jwtSecret, undefined, 'resolved later (dev secret) by resolveJwtSecret');
  t.equal(c.h3Resolution, 9);
  t.equal(c.maxSpeedKmh, 250);
  t.equal(c.maxAccuracyM, 100);
  t.equal(c.maxFutureSkewMs, 30_000);
  t.equal(c.staleAfterMs, 60_000);
  t.equal(c.retentionDays, 30);
  t.ok(c.wsMaxFrameBytes > 0 && c.wsIdleTimeoutMs > 0 && c.historyBatchSize > 0 && c.historyFlushMs > 0 && c.shutdownTimeoutMs > 0);
});

t.test('values are parsed to their types', async (t) => {
  const c = loadConfig({
    PORT: '9000',
    HOST: '0.0.0.0',
    REDIS_URL: 'redis://:pw@redis.internal:6380/2',
    DATABASE_URL: 'postgresql://u:p@db:5432/x',
    LOG_LEVEL: 'debug',
    JWT_SECRET: 's'.repeat(32),
    H3_RESOLUTION: '7',
    MAX_SPEED_KMH: '120.5',
    RETENTION_DAYS: ' 7 ',
  });
  t.equal(c.port, 9000);
  t.equal(c.host, '0.0.0.0');
  t.equal(c.redisUrl, 'redis://:pw@redis.internal:6380/2');
  t.equal(c.databaseUrl, 'postgresql://u:p@db:5432/x');
  t.equal(c.logLevel, 'debug');
  t.equal(c.jwtSecret, 's'.repeat(32));
  t.equal(c.h3Resolution, 7);
  t.equal(c.maxSpeedKmh, 120.5);
  t.equal(c.retentionDays, 7);
});

t.test('WORKERS: one process by default, a count, or one per CPU with auto', async (t) => {
  t.equal(loadConfig({}).workers, 1);
  t.equal(loadConfig({ WORKERS: ' 3 ' }).workers, 3);
  t.equal(loadConfig({ WORKERS: 'auto' }).workers, availableParallelism());
});

t.test('an empty value means the default', async (t) => {
  const c = loadConfig({ PORT: '', REDIS_URL: '', JWT_SECRET: '' });
  t.equal(c.port, 8080);
  t.equal(c.redisUrl, undefined);
  t.equal(c.jwtSecret, undefined);
});

t.test('a bad value throws ConfigError naming the key', async (t) => {
  const bad: [string, string][] = [
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['PORT', '80.5'],
    ['HOST', '  '],
    ['REDIS_URL', 'http://localhost:6379'],
    ['REDIS_URL', 'not a url'],
    ['DATABASE_URL', 'mysql://db/x'],
    ['LOG_LEVEL', 'loud'],
    ['JWT_SECRET', 'short'],
    ['H3_RESOLUTION', '16'],
    ['MAX_SPEED_KMH', '-5'],
    ['MAX_SPEED_KMH', 'fast'],
    ['MAX_ACCURACY_M', '0'],
    ['STALE_AFTER_MS', '0'],
    ['WS_MAX_FRAME_BYTES', '10'],
    ['RETENTION_DAYS', '0'],
    ['HISTORY_BATCH_SIZE', '1e3'],
    ['SHUTDOWN_TIMEOUT_MS', '-1'],
    ['WORKERS', '0'],
    ['WORKERS', 'many'],
    ['WORKERS', '1.5'],
    ['WORKERS', '257'],
  ];
  for (const [key, value] of bad) {
    try {
      loadConfig({ [key]: value });
      t.fail(`${key}=${value} should be refused`);
    } catch (err) {
      t.type(err, ConfigError, `${key}=${value}`);
      t.equal((err as ConfigError).key, key);
      t.match((err as Error).message, new RegExp(`^${key} `), `message starts with the key: ${(err as Error).message}`);
    }
  }
});

t.test('the secret is never echoed in an error message', async (t) => {
  let message = '';
  try {
    loadConfig({ JWT_SECRET: 'hunter2' });
  } catch (err) {
    message = (err as Error).message;
  }
  t.match(message, /^JWT_SECRET /);
  t.notMatch(message, /hunter2/);
});

t.test('configKeys documents every key with a description, and README.md lists each one', async (t) => {
  const keys = configKeys.map((k) => k.key);
  t.equal(new Set(keys).size, keys.length, 'no duplicate keys');
  for (const k of configKeys) t.ok(k.description.length > 10, `${k.key} has a description`);
  for (const required of ['PORT', 'HOST', 'REDIS_URL', 'DATABASE_URL', 'LOG_LEVEL', 'JWT_SECRET', 'REDIS_KEY_PREFIX', 'H3_RESOLUTION', 'RETENTION_DAYS']) {
    t.ok(keys.includes(required), `${required} is a config key`);
  }
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const missing = keys.filter((key) => !readme.includes(`| \`${key}\` |`));
  t.same(missing, [], 'every key has a row in the README config table (regenerate it: npx tsx src/cli/config-table.ts)');
});
