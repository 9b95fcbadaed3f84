/**
 * Reads what `checkDistribution()` (distribution-plan.ts) needs from pg_catalog: the tables of a schema
 * (partitions folded into their parent), their column types, every unique index (primary keys and
 * unique constraints included, partial ones too) by key column, and every foreign key.
 */
import type { Pool } from 'pg';
import type { SchemaModel } from './distribution-plan.js';

export async function readSchemaModel(db: Pick<Pool, 'query'>, schema = 'public'): Promise<SchemaModel> {
  const tables = await db.query<{ name: string; columns: Record<string, string> }>(
    `SELECT c.relname::text AS name,
            (SELECT jsonb_object_agg(a.attname, format_type(a.atttypid, a.atttypmod))
               FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition
      ORDER BY c.relname`,
    [schema],
  );
  const uniques = await db.query<{ table: string; name: string; columns: (string | null)[] }>(
    `SELECT t.relname::text AS table, ic.relname::text AS name,
            array(SELECT a.attname::text FROM unnest((i.indkey::int2[])[0:i.indnkeyatts - 1]) WITH ORDINALITY k(attnum, n)
                    LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum AND k.attnum > 0
                   ORDER BY k.n) AS columns
       FROM pg_index i
       JOIN pg_class t ON t.oid = i.indrelid
       JOIN pg_class ic ON ic.oid = i.indexrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE n.nspname = $1 AND i.indisunique AND t.relkind IN ('r', 'p') AND NOT t.relispartition
      ORDER BY t.relname, ic.relname`,
    [schema],
  );
  const fks = await db.query<{ table: string; name: string; columns: string[]; ref_table: string; ref_columns: string[] }>(
    `SELECT t.relname::text AS table, con.conname::text AS name, r.relname::text AS ref_table,
            array(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(attnum, n)
                    JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.n) AS columns,
            array(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(attnum, n)
                    JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.n) AS ref_columns
       FROM pg_constraint con
       JOIN pg_class t ON t.oid = con.conrelid
       JOIN pg_class r ON r.oid = con.confrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE n.nspname = $1 AND con.contype = 'f' AND NOT t.relispartition AND con.conparentid = 0
      ORDER BY t.relname, con.conname`,
    [schema],
  );
  return {
    tables: tables.rows.map((r) => ({ name: r.name, columns: r.columns ?? {} })),
    uniques: uniques.rows.map((r) => ({ table: r.table, name: r.name, columns: r.columns })),
    foreignKeys: fks.rows.map((r) => ({ table: r.table, name: r.name, columns: r.columns, refTable: r.ref_table, refColumns: r.ref_columns })),
  };
}
