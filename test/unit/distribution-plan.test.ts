/**
 * The distribution checker (src/store/pg/distribution-plan.ts) on small synthetic schemas: it accepts
 * a shardable one and names each kind of mistake Citus would refuse; and docs/scaling.md prints the
 * plan exactly as declared in code.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { checkDistribution, distributionSql, DISTRIBUTION_PLAN, type Placement, type SchemaModel } from '../../src/store/pg/distribution-plan.js';

const plan: Placement[] = [
  { table: 'stores', kind: 'reference', why: '' },
  { table: 'orders', kind: 'distributed', column: 'id', colocateWith: 'none', why: '' },
  { table: 'events', kind: 'distributed', column: 'order_id', colocateWith: 'orders', why: '' },
  { table: 'offers', kind: 'distributed', column: 'courier_id', colocateWith: 'none', why: '' },
  { table: 'migrations', kind: 'local', why: '' },
];

const good: SchemaModel = {
  tables: [
    { name: 'stores', columns: { id: 'text' } },
    { name: 'orders', columns: { id: 'uuid', store_id: 'text', external_id: 'text' } },
    { name: 'events', columns: { order_id: 'uuid', version: 'integer' } },
    { name: 'offers', columns: { id: 'uuid', courier_id: 'text', order_id: 'uuid' } },
    { name: 'migrations', columns: { id: 'integer' } },
  ],
  uniques: [
    { table: 'stores', name: 'stores_pkey', columns: ['id'] },
    { table: 'orders', name: 'orders_pkey', columns: ['id'] },
    { table: 'events', name: 'events_pkey', columns: ['order_id', 'version'] },
    { table: 'offers', name: 'offers_pkey', columns: ['courier_id', 'id'] },
    { table: 'migrations', name: 'migrations_pkey', columns: ['id'] },
  ],
  foreignKeys: [
    { table: 'events', name: 'events_order_fkey', columns: ['order_id'], refTable: 'orders', refColumns: ['id'] },
    { table: 'orders', name: 'orders_store_fkey', columns: ['store_id'], refTable: 'stores', refColumns: ['id'] },
  ],
};

const with_ = (extra: Partial<{ [K in keyof SchemaModel]: SchemaModel[K] }>): SchemaModel => ({
  tables: [...good.tables, ...(extra.tables ?? [])],
  uniques: [...good.uniques, ...(extra.uniques ?? [])],
  foreignKeys: [...good.foreignKeys, ...(extra.foreignKeys ?? [])],
});

t.test('a shardable schema passes', async (t) => {
  t.same(checkDistribution(good, plan), []);
});

t.test('a unique index without the distribution column is refused', async (t) => {
  const v = checkDistribution(with_({ uniques: [{ table: 'orders', name: 'orders_store_external', columns: ['store_id', 'external_id'] }] }), plan);
  t.match(v, [{ rule: 'unique_without_distribution_column', table: 'orders', message: /orders_store_external.*id/ }]);
  t.equal(v.length, 1);
  // an expression index does not count as containing the column
  t.match(checkDistribution(with_({ uniques: [{ table: 'orders', name: 'orders_lower', columns: [null] }] }), plan), [
    { rule: 'unique_without_distribution_column' },
  ]);
  // on a reference table any unique index is fine
  t.same(checkDistribution(with_({ uniques: [{ table: 'stores', name: 'stores_x', columns: [null] }] }), plan), []);
});

t.test('foreign keys: co-located on the distribution column, or to a reference table', async (t) => {
  const fk = (table: string, columns: string[], refTable: string, refColumns: string[]) => ({ table, name: `${table}_fk`, columns, refTable, refColumns });
  t.match(checkDistribution(with_({ foreignKeys: [fk('offers', ['order_id'], 'orders', ['id'])] }), plan), [
    { rule: 'foreign_key', message: /not co-located/ },
  ]);
  t.match(checkDistribution(with_({ foreignKeys: [fk('events', ['version'], 'orders', ['id'])] }), plan), [
    { rule: 'foreign_key', message: /does not pair events.order_id with orders.id/ },
  ]);
  t.match(checkDistribution(with_({ foreignKeys: [fk('stores', ['id'], 'orders', ['id'])] }), plan), [
    { rule: 'foreign_key', message: /reference table cannot reference a distributed/ },
  ]);
  t.match(checkDistribution(with_({ foreignKeys: [fk('events', ['order_id'], 'migrations', ['id'])] }), plan), [{ rule: 'foreign_key', message: /local/ }]);
  t.same(checkDistribution(with_({ foreignKeys: [fk('offers', ['courier_id'], 'stores', ['id'])] }), plan), [], 'distributed → reference is fine');
});

t.test('every table is planned, and the plan is consistent with the schema', async (t) => {
  t.match(checkDistribution(with_({ tables: [{ name: 'payouts', columns: { id: 'uuid' } }] }), plan), [{ rule: 'unplanned_table', table: 'payouts' }]);
  t.match(checkDistribution(good, [...plan, { table: 'gone', kind: 'reference', why: '' }]), [{ rule: 'missing_table', table: 'gone' }]);
  t.match(checkDistribution(good, plan.map((p) => (p.table === 'offers' ? { ...p, column: 'nope' } : p))), [{ rule: 'bad_plan', message: /no column nope/ }]);
  // co-location needs the same column type (offers.courier_id is text, orders.id uuid)
  t.match(checkDistribution(good, plan.map((p) => (p.table === 'offers' ? { ...p, colocateWith: 'orders' } : p))), [
    { rule: 'bad_plan', message: /cannot be co-located/ },
  ]);
  // … and a table distributed before it in the plan
  const reordered = [plan[0]!, plan[2]!, plan[1]!, plan[3]!, plan[4]!];
  t.match(checkDistribution(good, reordered), [{ rule: 'bad_plan', table: 'events', message: /planned before it/ }]);
});

t.test('docs/scaling.md prints the plan declared in code', async (t) => {
  const doc = readFileSync(new URL('../../docs/scaling.md', import.meta.url), 'utf8');
  const block = /<!-- distribution-plan:begin -->\n```sql\n([\s\S]*?)\n```\n<!-- distribution-plan:end -->/.exec(doc);
  t.ok(block, 'the generated block is in docs/scaling.md');
  t.equal(block?.[1], distributionSql(DISTRIBUTION_PLAN), 'run `npm run docs:distribution` after changing the plan');
});
