import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Redis } from 'ioredis';
import pg from 'pg';
import { readdir } from 'node:fs/promises';
import {
  ensureDatabaseUrl,
  ensureRedis,
  MissingBinaryError,
  startPrivatePostgres,
  startPrivateRedis,
  unreachableDirFallback,
} from '../../src/store/embedded/index.js';
import { freePort } from '../../src/store/embedded/process.js';
import { migrate } from '../../src/store/pg/migrate.js';
import { redisAnswers } from '../../src/store/redis/client.js';
import { pgAnswers } from '../../src/store/pg/pool.js';
import { tempDataDir, type Teardownable } from '../support/index.js';

const tempDir = (t: Teardownable) => tempDataDir(t, 'dispatchd-embedded-');

t.test('a private redis-server starts on a free port, serves, and stops', async (t) => {
  const dir = await tempDir(t);
  const svc = await startPrivateRedis({ dir });
  t.teardown(() => svc.stop());
  t.match(svc.url, /^redis:\/\/127\.0\.0\.1:\d+$/);
  t.not(svc.url, 'redis://127.0.0.1:6379', 'not the default port');
  const client = new Redis(svc.url);
  await client.set('k', 'v');
  t.equal(await client.get('k'), 'v');
  client.disconnect();
  await svc.stop();
  t.equal(await redisAnswers(svc.url, 500), false, 'gone after stop');
});

t.test('the private redis-server persists (AOF): the location stream survives a restart', async (t) => {
  const dir = await tempDir(t);
  const first = await startPrivateRedis({ dir });
  t.teardown(() => first.stop());
  const a = new Redis(first.url);
  t.same(await a.config('GET', 'appendonly'), ['appendonly', 'yes']);
  t.same(await a.config('GET', 'appendfsync'), ['appendfsync', 'everysec']);
  await a.xadd('loc:stream', '*', 'p', 'acked-not-yet-stored');
  a.disconnect();
  await first.stop();
  const second = await startPrivateRedis({ dir });
  t.teardown(() => second.stop());
  const b = new Redis(second.url);
  t.teardown(() => b.disconnect());
  const entries = await b.xrange('loc:stream', '-', '+');
  t.same(entries.map(([, fields]) => fields), [['p', 'acked-not-yet-stored']], 'the stream entry is still there');
});

t.test('a leftover private redis-server from a crashed run is replaced', async (t) => {
  const dir = await tempDir(t);
  const first = await startPrivateRedis({ dir });
  // Simulate a crash: the first one is never stopped, a new one starts in the same folder.
  const second = await startPrivateRedis({ dir });
  t.teardown(async () => {
    await second.stop();
    await first.stop();
  });
  t.equal(await redisAnswers(first.url, 500), false, 'the leftover was stopped');
  t.equal(await redisAnswers(second.url, 500), true);
});

t.test('without redis-server on PATH the error says what to install or set', async (t) => {
  const dir = await tempDir(t);
  const path = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    const err = await startPrivateRedis({ dir }).then(
      (svc) => svc.stop().then(() => undefined),
      (e: unknown) => e,
    );
    t.ok(err instanceof MissingBinaryError, 'MissingBinaryError');
    t.match((err as Error | undefined)?.message, /apt-get install redis-server/);
    t.match((err as Error | undefined)?.message, /REDIS_URL/);
  } finally {
    process.env.PATH = path;
  }
});

t.test('an explicit REDIS_URL is used as given, nothing started', async (t) => {
  const svc = await ensureRedis({ url: 'redis://example.invalid:1', dataDir: '/nonexistent' });
  t.equal(svc.origin, 'env');
  t.equal(svc.url, 'redis://example.invalid:1');
});

t.test('a private PostgreSQL cluster initialises, serves, stops, and restarts on its data', async (t) => {
  const dir = await tempDir(t);
  const first = await startPrivatePostgres({ dir });
  t.teardown(() => first.stop());
  const client = new pg.Client({ connectionString: first.url });
  await client.connect();
  await client.query('create table kept (v int)');
  await client.query('insert into kept values (42)');
  await client.end();
  await first.stop();
  t.equal(await pgAnswers(first.url, 500), false, 'gone after stop');

  const second = await startPrivatePostgres({ dir });
  t.teardown(() => second.stop());
  const again = new pg.Client({ connectionString: second.url });
  await again.connect();
  t.equal((await again.query('select v from kept')).rows[0].v, 42, 'data survives a restart');
  await again.end();
  await second.stop();
  t.ok((await readdir(dir)).some((n) => /^pg\d+$/.test(n)), 'the cluster is in the given folder');
  t.notOk(existsSync(unreachableDirFallback(dir)), 'nothing in the /tmp fallback, which the test folder would not remove');
});

t.test('embedded default: the local server is used when it answers, a private one when it does not', async (t) => {
  const dir = await tempDir(t);
  const local = await startPrivateRedis({ dir: join(dir, 'local') });
  t.teardown(() => local.stop());

  const reused = await ensureRedis({ dataDir: dir, localUrl: local.url });
  t.equal(reused.origin, 'local');
  t.equal(reused.url, local.url);

  const deadUrl = `redis://127.0.0.1:${await freePort()}`;
  const started = await ensureRedis({ dataDir: dir, localUrl: deadUrl });
  t.teardown(() => started.stop());
  t.equal(started.origin, 'private');
  t.not(started.url, deadUrl);
  t.equal(await redisAnswers(started.url, 500), true);
  await started.stop();
  t.equal(await redisAnswers(started.url, 500), false, 'stopped on request');
});

t.test('embedded default for Postgres: a private cluster with the dispatchd database, migratable', async (t) => {
  const dir = await tempDir(t);
  const deadUrl = `postgres://postgres@127.0.0.1:${await freePort()}/postgres`;
  const db = await ensureDatabaseUrl({ dataDir: dir, localUrl: deadUrl });
  t.teardown(() => db.stop());
  t.equal(db.origin, 'private');
  t.match(db.url, /\/dispatchd$/);
  const applied = await migrate({ databaseUrl: db.url });
  t.ok(applied.includes('0001_core'), 'migrations apply to it');
  await db.stop();
  t.equal(await pgAnswers(db.url, 500), false, 'stopped on request');
});
