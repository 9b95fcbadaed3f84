/**
 * How the schema is spread over a distributed Postgres (Citus), declared once (issue 15). It is
 *  - printed as the `create_reference_table` / `create_distributed_table` block of docs/scaling.md
 *    (`npm run docs:distribution` rewrites it; a test fails when the doc and this list disagree);
 *  - checked against the migrated schema by test/integration/citus-ready.test.ts with
 *    `checkDistribution()` below: the rules Citus enforces when the tables are distributed, so a
 *    migration that would break sharding fails a test here, without running Citus.
 *
 * Nothing here runs in the service: a single Postgres ignores the plan.
 */

export type Placement =
  /** Copied to every worker: small, read by joins from any shard. */
  | { readonly table: string; readonly kind: 'reference'; readonly why: string }
  /**
   * Sharded by `column`. `colocateWith` names the table whose shards it shares (same column type),
   * or 'none' for a co-location group of its own.
   */
  | { readonly table: string; readonly kind: 'distributed'; readonly column: string; readonly colocateWith: string; readonly why: string }
  /** Stays a plain table on the coordinator (bookkeeping, never joined with distributed data). */
  | { readonly table: string; readonly kind: 'local'; readonly why: string };

/**
 * In the order the statements must run: reference tables, then each co-location group's first table
 * before the tables co-located with it (and a foreign key's target before its source).
 */
export const DISTRIBUTION_PLAN: readonly Placement[] = [
  { table: 'couriers', kind: 'reference', why: 'one row per courier, read by id from everywhere' },
  { table: 'stores', kind: 'reference', why: 'one row per store (and its webhook endpoint), joined by the outbox' },
  { table: 'zones', kind: 'reference', why: 'a few hundred polygons, cached by every node' },
  { table: 'api_keys', kind: 'reference', why: 'a few keys per store' },
  {
    table: 'courier_positions',
    kind: 'distributed',
    column: 'courier_id',
    colocateWith: 'none',
    why: 'the trail and replay read one courier over a time range; day partitions are distributed with it',
  },
  {
    table: 'offers',
    kind: 'distributed',
    column: 'courier_id',
    colocateWith: 'courier_positions',
    why: 'one open offer per courier (offers_one_open_per_courier); answers carry the courier',
  },
  { table: 'orders', kind: 'distributed', column: 'id', colocateWith: 'none', why: 'every order read and change is by id' },
  { table: 'order_events', kind: 'distributed', column: 'order_id', colocateWith: 'orders', why: "an order's history, written with the order" },
  { table: 'assignments', kind: 'distributed', column: 'order_id', colocateWith: 'orders', why: 'one open assignment per order' },
  {
    table: 'webhook_outbox',
    kind: 'distributed',
    column: 'order_id',
    colocateWith: 'orders',
    why: 'written with the order; unique per (order, version, store); delivered per order in version order',
  },
  {
    table: 'order_external_ids',
    kind: 'distributed',
    column: 'external_id',
    colocateWith: 'none',
    why: "one order per (store, external id); by external id so a big store's orders spread over all shards",
  },
  { table: 'order_quotes', kind: 'distributed', column: 'quote_id', colocateWith: 'none', why: 'one order per quote' },
  {
    table: 'carrier_deliveries',
    kind: 'distributed',
    column: 'carrier_delivery_id',
    colocateWith: 'none',
    why: 'one order per carrier delivery; by the delivery id (a handful of fleets would be a handful of shards)',
  },
  {
    table: 'dispatch_decisions',
    kind: 'distributed',
    column: 'order_id',
    colocateWith: 'none',
    why: "an order's recent rounds (text ids, so not co-located with orders)",
  },
  { table: 'schema_migrations', kind: 'local', why: 'node-pg-migrate bookkeeping, only the migrating node reads it' },
];

/** The SQL a Citus operator runs once, after the migrations, in the plan's order. */
export function distributionSql(plan: readonly Placement[] = DISTRIBUTION_PLAN): string {
  const lines: string[] = [];
  for (const p of plan) {
    if (p.kind === 'reference') lines.push(`SELECT create_reference_table('${p.table}');`);
    if (p.kind === 'distributed') lines.push(`SELECT create_distributed_table('${p.table}', '${p.column}', colocate_with => '${p.colocateWith}');`);
    if (p.kind === 'local') lines.push(`-- ${p.table}: stays a local table on the coordinator (${p.why})`);
  }
  return lines.join('\n');
}

/** What the checker needs to know of a schema (read from pg_catalog by schema-catalog.ts). */
export interface SchemaModel {
  /** Every table (partitions left out: they follow their parent), with its columns and their types. */
  readonly tables: readonly { readonly name: string; readonly columns: Readonly<Record<string, string>> }[];
  /** Primary keys, unique constraints and unique indexes; a null column is an expression. */
  readonly uniques: readonly { readonly table: string; readonly name: string; readonly columns: readonly (string | null)[] }[];
  readonly foreignKeys: readonly {
    readonly table: string;
    readonly name: string;
    readonly columns: readonly string[];
    readonly refTable: string;
    readonly refColumns: readonly string[];
  }[];
}

export interface Violation {
  readonly rule: 'unplanned_table' | 'missing_table' | 'bad_plan' | 'unique_without_distribution_column' | 'foreign_key';
  readonly table: string;
  readonly message: string;
}

/**
 * The rules Citus applies when the plan is run over this schema:
 *  - every table is in the plan, and every planned table exists;
 *  - a distributed table's distribution column exists, and a table it is co-located with is distributed
 *    earlier in the plan on a column of the same type;
 *  - every primary key, unique constraint and unique index of a distributed table contains its
 *    distribution column (a plain column, not an expression);
 *  - foreign keys: to a reference table from anything but a local table; between distributed tables only
 *    when they are co-located and the key pairs the two distribution columns; never from a reference
 *    table to a distributed one; local tables only among themselves.
 */
export function checkDistribution(schema: SchemaModel, plan: readonly Placement[] = DISTRIBUTION_PLAN): Violation[] {
  const out: Violation[] = [];
  const tables = new Map(schema.tables.map((t) => [t.name, t.columns]));
  const placed = new Map<string, Placement>();
  const group = new Map<string, string>(); // distributed table → its co-location group (the group's first table)

  for (const p of plan) {
    if (placed.has(p.table)) out.push({ rule: 'bad_plan', table: p.table, message: `${p.table} is planned twice` });
    placed.set(p.table, p);
    const columns = tables.get(p.table);
    if (!columns) {
      out.push({ rule: 'missing_table', table: p.table, message: `${p.table} is in the plan but not in the schema` });
      continue;
    }
    if (p.kind !== 'distributed') continue;
    const type = columns[p.column];
    if (type === undefined) {
      out.push({ rule: 'bad_plan', table: p.table, message: `${p.table} has no column ${p.column} to distribute by` });
      continue;
    }
    if (p.colocateWith === 'none') {
      group.set(p.table, p.table);
      continue;
    }
    const target = placed.get(p.colocateWith);
    if (!target || target.kind !== 'distributed' || !group.has(p.colocateWith)) {
      out.push({ rule: 'bad_plan', table: p.table, message: `${p.table} is co-located with ${p.colocateWith}, which is not a distributed table planned before it` });
      continue;
    }
    const targetType = tables.get(target.table)?.[target.column];
    if (targetType !== type) {
      out.push({
        rule: 'bad_plan',
        table: p.table,
        message: `${p.table}.${p.column} (${type}) cannot be co-located with ${target.table}.${target.column} (${targetType ?? 'missing'})`,
      });
      continue;
    }
    group.set(p.table, group.get(p.colocateWith)!);
  }

  for (const t of schema.tables) {
    if (!placed.has(t.name)) {
      out.push({ rule: 'unplanned_table', table: t.name, message: `${t.name} is not in the distribution plan (reference, distributed or local?)` });
    }
  }

  for (const u of schema.uniques) {
    const p = placed.get(u.table);
    if (p?.kind !== 'distributed') continue;
    if (!u.columns.includes(p.column)) {
      out.push({
        rule: 'unique_without_distribution_column',
        table: u.table,
        message: `${u.name} on ${u.table} (${u.columns.map((c) => c ?? '<expression>').join(', ')}) does not contain the distribution column ${p.column}`,
      });
    }
  }

  for (const fk of schema.foreignKeys) {
    const from = placed.get(fk.table);
    const to = placed.get(fk.refTable);
    if (!from || !to) continue; // reported as unplanned above
    const bad = (why: string) => out.push({ rule: 'foreign_key', table: fk.table, message: `${fk.name} (${fk.table} → ${fk.refTable}): ${why}` });
    if (from.kind === 'local' || to.kind === 'local') {
      if (from.kind !== 'local' || to.kind !== 'local') bad('a local table and a distributed or reference table');
      continue;
    }
    if (to.kind === 'reference') continue;
    if (from.kind === 'reference') {
      bad('a reference table cannot reference a distributed table');
      continue;
    }
    if (to.kind !== 'distributed' || from.kind !== 'distributed') continue;
    if (group.get(fk.table) === undefined || group.get(fk.table) !== group.get(fk.refTable)) {
      bad('the two distributed tables are not co-located');
      continue;
    }
    const i = fk.columns.indexOf(from.column);
    if (i < 0 || fk.refColumns[i] !== to.column) bad(`the key does not pair ${fk.table}.${from.column} with ${fk.refTable}.${to.column}`);
  }
  return out;
}
