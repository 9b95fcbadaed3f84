/**
 * Issue 15: the migrated schema can be sharded by a distributed Postgres (Citus) as the plan in
 * src/store/pg/distribution-plan.ts says — checked on the real schema read from pg_catalog — and
 * migration 0013 carries an existing deployment's data over to the keys that make it so.
 */
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { checkDistribution, DISTRIBUTION_PLAN } from '../../src/store/pg/distribution-plan.js';
import { migrate, SQL_DIR } from '../../src/store/pg/migrate.js';
import { PgOrderRepository } from '../../src/store/pg/order-repository.js';
import { connectPool, ensureDatabase, withDatabase } from '../../src/store/pg/pool.js';
import { readSchemaModel } from '../../src/store/pg/schema-catalog.js';
import { dropDatabase, serviceUrls, uniqueId, type Teardownable } from '../support/index.js';

async function freshDatabase(t: Teardownable): Promise<string> {
  const { serverDatabaseUrl } = serviceUrls();
  const name = `dispatchd_test_${uniqueId()}`;
  await ensureDatabase(serverDatabaseUrl, name);
  t.teardown(() => dropDatabase(serverDatabaseUrl, name));
  return withDatabase(serverDatabaseUrl, name);
}

t.test('the migrated schema follows the distribution plan', async (t) => {
  const url = await freshDatabase(t);
  await migrate({ databaseUrl: url });
  const db = await connectPool(url, { max: 2 });
  t.teardown(() => db.end());
  const schema = await readSchemaModel(db);

  // the reader sees what matters (so an empty model cannot pass by accident)
  t.match(
    schema.uniques.filter((u) => u.name === 'offers_one_open_per_courier' || u.name === 'webhook_outbox_order_version_store'),
    [
      { table: 'offers', columns: ['courier_id'] },
      { table: 'webhook_outbox', columns: ['order_id', 'version', 'store_id'] },
    ],
  );
  t.match(
    schema.foreignKeys.find((f) => f.name === 'webhook_outbox_event_fkey'),
    { table: 'webhook_outbox', columns: ['order_id', 'version'], refTable: 'order_events', refColumns: ['order_id', 'version'] },
  );
  t.ok(schema.tables.some((x) => x.name === 'courier_positions'), 'the partitioned parent is a table');
  t.notOk(schema.tables.some((x) => x.name.startsWith('courier_positions_')), 'its day partitions follow it');

  t.same(checkDistribution(schema, DISTRIBUTION_PLAN), [], 'no rule Citus enforces is broken');

  // and the check bites on the real catalog: a unique index without the distribution column, a foreign
  // key between tables on different shards, a table nobody planned
  await db.query(`CREATE UNIQUE INDEX orders_external_again ON orders (store_id, external_id)`);
  await db.query(`ALTER TABLE assignments ADD CONSTRAINT assignments_offer_fk FOREIGN KEY (courier_id, offer_id) REFERENCES offers (courier_id, id)`);
  await db.query(`CREATE TABLE payouts (id uuid PRIMARY KEY)`);
  const v = checkDistribution(await readSchemaModel(db), DISTRIBUTION_PLAN);
  t.match(
    v.map((x) => x.rule).sort(),
    ['foreign_key', 'unique_without_distribution_column', 'unplanned_table'],
  );
  t.match(v.find((x) => x.rule === 'unique_without_distribution_column'), { table: 'orders', message: /orders_external_again/ });
  t.match(v.find((x) => x.rule === 'foreign_key'), { table: 'assignments', message: /not co-located/ });
});

t.test('0013 carries existing orders, quotes, carrier deliveries, outbox rows and offers over', async (t) => {
  const url = await freshDatabase(t);
  // the schema as it was before 0013
  const before = mkdtempSync(join(tmpdir(), 'dispatchd-sql-'));
  t.teardown(() => rmSync(before, { recursive: true, force: true }));
  for (const f of readdirSync(SQL_DIR).filter((f) => /^\d{4}_.+\.sql$/.test(f) && Number(f.slice(0, 4)) < 13)) copyFileSync(join(SQL_DIR, f), join(before, f));
  await migrate({ databaseUrl: url, dir: before });

  const db = await connectPool(url, { max: 2 });
  t.teardown(() => db.end());
  const a = '11111111-1111-4111-8111-111111111111';
  const b = '22222222-2222-4222-8222-222222222222';
  const quote = '33333333-3333-4333-8333-333333333333';
  const offer = '44444444-4444-4444-8444-444444444444';
  const insertOrder = (id: string, external: string, extra: string, values: string) =>
    db.query(
      `INSERT INTO orders (id, store_id, external_id, request_hash, status, version, zone, pickup_lat, pickup_lng, dropoff_lat, dropoff_lng,
         items, size, placed_at, ready_at, ready_known, delivery_option, promised_by, created_at, updated_at${extra})
       VALUES ($1, 's1', $2, 'h-' || $2, 'assigned', 1, 'z', 52.5, 13.4, 52.51, 13.41, 1, 1, now(), now(), false, 'express', now(), now(), now()${values})`,
      [id, external],
    );
  await insertOrder(a, 'e1', ', quote_id, fee_minor, fee_currency', `, '${quote}', 500, 'EUR'`);
  await insertOrder(b, 'e2', ', fleet, carrier_delivery_id', `, 'acme', 'd-9'`);
  await db.query(`INSERT INTO stores (id, name, webhook_url, webhook_secret) VALUES ('s1', 'Shop', 'https://shop.example/hook', 'k')`);
  const event = '55555555-5555-4555-8555-555555555555';
  await db.query(`INSERT INTO order_events (event_id, order_id, version, type, actor_role, actor_id, at) VALUES ($1, $2, 1, 'placed', 'store', 's1', now())`, [event, a]);
  await db.query(
    `INSERT INTO webhook_outbox (event_id, store_id, order_id, version, url, payload, created_at, next_attempt_at) VALUES ($1, 's1', $2, 1, 'https://shop.example/hook', '{}', now(), now())`,
    [event, a],
  );
  await db.query(`INSERT INTO offers (id, courier_id, order_ids, stops, status, created_at, expires_at) VALUES ($1, 'c1', $2, '[]', 'accepted', now(), now())`, [
    offer,
    [a],
  ]);
  await db.query(`INSERT INTO assignments (order_id, courier_id, offer_id, assigned_at) VALUES ($1, 'c1', $2, now())`, [a, offer]);

  copyFileSync(join(SQL_DIR, '0013_distribution_ready.sql'), join(before, '0013_distribution_ready.sql'));
  t.same(await migrate({ databaseUrl: url, dir: before }), ['0013_distribution_ready'], 'only 0013 was pending');

  t.same((await db.query(`SELECT store_id, external_id, order_id FROM order_external_ids ORDER BY external_id`)).rows, [
    { store_id: 's1', external_id: 'e1', order_id: a },
    { store_id: 's1', external_id: 'e2', order_id: b },
  ]);
  t.same((await db.query(`SELECT quote_id, order_id FROM order_quotes`)).rows, [{ quote_id: quote, order_id: a }]);
  t.same((await db.query(`SELECT fleet, carrier_delivery_id, order_id FROM carrier_deliveries`)).rows, [{ fleet: 'acme', carrier_delivery_id: 'd-9', order_id: b }]);
  t.equal((await db.query(`SELECT count(*)::int AS n FROM webhook_outbox`)).rows[0].n, 1, 'the outbox row is kept');
  t.equal((await db.query(`SELECT count(*)::int AS n FROM assignments WHERE offer_id = $1`, [offer])).rows[0].n, 1, 'the assignment is kept');

  // the repository finds the migrated orders through the lookup tables
  const repo = new PgOrderRepository(db);
  t.match(await repo.findByExternalId('s1', 'e1'), { order: { id: a }, requestHash: 'h-e1' });
  t.match(await repo.findByQuoteId(quote), { id: a });
  t.equal(await repo.findByExternalId('s1', 'e3'), null);

  // and every guarantee still holds on the migrated data
  await t.rejects(db.query(`INSERT INTO order_external_ids (store_id, external_id, order_id) VALUES ('s1', 'e1', $1)`, [b]), { code: '23505' });
  await t.rejects(db.query(`INSERT INTO order_quotes (quote_id, order_id) VALUES ($1, $2)`, [quote, b]), { code: '23505', constraint: 'order_quotes_pkey' });
  await t.rejects(db.query(`INSERT INTO carrier_deliveries (fleet, carrier_delivery_id, order_id) VALUES ('acme', 'd-9', $1)`, [a]), { code: '23505' });
  await t.rejects(
    db.query(
      `INSERT INTO webhook_outbox (event_id, store_id, order_id, version, url, payload, created_at, next_attempt_at) VALUES ($1, 's1', $2, 1, 'https://shop.example/hook', '{}', now(), now())`,
      [event, a],
    ),
    { code: '23505', constraint: 'webhook_outbox_order_version_store' },
    'one outbox row per (order, version, store endpoint)',
  );
  await t.rejects(
    db.query(
      `INSERT INTO webhook_outbox (event_id, store_id, order_id, version, url, payload, created_at, next_attempt_at) VALUES ($1, 's1', $2, 2, 'https://shop.example/hook', '{}', now(), now())`,
      [event, a],
    ),
    { code: '23503' },
    'an outbox row needs its event',
  );
  await db.query(`INSERT INTO offers (id, courier_id, order_ids, stops, status, created_at, expires_at) VALUES (gen_random_uuid(), 'c1', $1, '[]', 'open', now(), now())`, [[b]]);
  await t.rejects(
    db.query(`INSERT INTO offers (id, courier_id, order_ids, stops, status, created_at, expires_at) VALUES (gen_random_uuid(), 'c1', $1, '[]', 'open', now(), now())`, [[b]]),
    { code: '23505', constraint: 'offers_one_open_per_courier' },
  );

  t.same(checkDistribution(await readSchemaModel(db), DISTRIBUTION_PLAN), [], 'the upgraded schema follows the plan too');
});
