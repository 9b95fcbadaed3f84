import { readdirSync } from 'node:fs';
import t from 'tap';
import { createTestContext, dropDatabase, serviceUrls, uniqueId } from '../support/index.js';
import { migrate, MIGRATIONS_TABLE, SQL_DIR } from '../../src/store/pg/migrate.js';
import { ensureDatabase, withDatabase } from '../../src/store/pg/pool.js';

const files = readdirSync(SQL_DIR)
  .filter((f) => /^\d{4}_.+\.sql$/.test(f))
  .map((f) => f.replace(/\.sql$/, ''))
  .sort();

t.test('every sql/ file is applied once, in order, and recorded', async (t) => {
  const ctx = await createTestContext(t);
  const { rows } = await ctx.db.query(`select name from ${MIGRATIONS_TABLE} order by id`);
  t.same(
    rows.map((r) => r.name),
    files,
  );
  const tables = await ctx.db.query(`select table_name from information_schema.tables where table_schema = 'public'`);
  const names = tables.rows.map((r) => r.table_name);
  for (const table of ['couriers', 'stores', 'api_keys', MIGRATIONS_TABLE]) t.ok(names.includes(table), `${table} exists`);
});

t.test('running again applies nothing and changes nothing', async (t) => {
  const ctx = await createTestContext(t);
  await ctx.db.query(`insert into couriers (id, name) values ('c42', 'Ada')`);
  t.same(await migrate({ databaseUrl: ctx.databaseUrl }), []);
  const { rows } = await ctx.db.query(`select count(*)::int as n from ${MIGRATIONS_TABLE}`);
  t.equal(rows[0].n, files.length);
  t.equal((await ctx.db.query(`select name from couriers where id = 'c42'`)).rows[0].name, 'Ada', 'data kept');
});

t.test('two processes migrating one fresh database at once both succeed, each file recorded once', async (t) => {
  const { serverDatabaseUrl } = serviceUrls();
  const name = `dispatchd_test_${uniqueId()}`;
  await ensureDatabase(serverDatabaseUrl, name);
  t.teardown(() => dropDatabase(serverDatabaseUrl, name));
  const url = withDatabase(serverDatabaseUrl, name);
  const [a, b] = await Promise.all([migrate({ databaseUrl: url }), migrate({ databaseUrl: url })]);
  t.same([...a, ...b].sort(), files, 'the files were applied exactly once between the two');
});

t.test('the core schema refuses inconsistent rows', async (t) => {
  const ctx = await createTestContext(t);
  await t.rejects(ctx.db.query(`insert into stores (id, name, webhook_url) values ('s1', 'Shop', 'https://shop.example/hook')`), /check/i, 'a webhook url needs its secret');
  await t.rejects(ctx.db.query(`insert into stores (id, name, webhook_url, webhook_secret) values ('s2', 'Shop', 'ftp://x', 'k')`), /check/i);
  await t.rejects(ctx.db.query(`insert into couriers (id) values ('')`), /check/i);
  await t.rejects(ctx.db.query(`insert into api_keys (id, key_hash, role, subject) values ('k1', 'h', 'root', 's1')`), /check/i);
  await ctx.db.query(`insert into stores (id, name, webhook_url, webhook_secret) values ('s3', 'Shop', 'https://shop.example/hook', 'k')`);
  t.equal((await ctx.db.query(`select count(*)::int as n from stores`)).rows[0].n, 1);
});
