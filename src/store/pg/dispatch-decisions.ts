/**
 * The decision history in Postgres (sql/0006_dispatch_decisions.sql): batched inserts, the bounds
 * (newest `perOrder` rows per order, nothing older than `maxAgeMs`) and the read behind
 * GET /v1/orders/:id/dispatch. The whole decision is the `body`; columns are for the queries.
 */
import type { Pool } from 'pg';
import type { DispatchDecision } from '../../dispatch/decisions.js';

/** Rounds of history kept per order. */
export const DECISIONS_PER_ORDER = 20;
/** History older than this is dropped. */
export const DECISIONS_MAX_AGE_MS = 7 * 86_400_000;

/** One INSERT for the whole batch, then trims the batch's orders to their newest `perOrder` rows. */
export async function insertDecisions(db: Pool, decisions: readonly DispatchDecision[], perOrder = DECISIONS_PER_ORDER): Promise<void> {
  if (decisions.length === 0) return;
  const rows = decisions.map((d) => ({
    order_id: d.orderId,
    at: d.at,
    zone: d.zone,
    decision: d.decision,
    reason: d.reason ?? null,
    courier_id: d.courierId ?? null,
    body: d,
  }));
  await db.query(
    `INSERT INTO dispatch_decisions (order_id, at, zone, decision, reason, courier_id, body)
     SELECT order_id, to_timestamp(at / 1000.0), zone, decision, reason, courier_id, body
       FROM jsonb_to_recordset($1::jsonb) AS x(order_id text, at bigint, zone text, decision text, reason text, courier_id text, body jsonb)`,
    [JSON.stringify(rows)],
  );
  const orderIds = [...new Set(decisions.map((d) => d.orderId))];
  await db.query(
    // order_id (the distribution column, sql/0013) in the outer filter and the join: one shard per order
    `DELETE FROM dispatch_decisions WHERE order_id = ANY($1::text[]) AND (order_id, id) IN (
       SELECT order_id, id FROM (
         SELECT order_id, id, row_number() OVER (PARTITION BY order_id ORDER BY at DESC, id DESC) AS n
           FROM dispatch_decisions WHERE order_id = ANY($1::text[])
       ) ranked WHERE n > $2)`,
    [orderIds, perOrder],
  );
}

/** Drops history older than `before` (epoch ms); returns how many rows went. */
export async function pruneDecisions(db: Pool, before: number): Promise<number> {
  const res = await db.query(`DELETE FROM dispatch_decisions WHERE at < to_timestamp($1 / 1000.0)`, [before]);
  return res.rowCount ?? 0;
}

/** An order's decisions, newest first. */
export async function decisionHistory(db: Pool, orderId: string, limit = DECISIONS_PER_ORDER): Promise<DispatchDecision[]> {
  const { rows } = await db.query<{ body: DispatchDecision }>(
    `SELECT body FROM dispatch_decisions WHERE order_id = $1 ORDER BY at DESC, id DESC LIMIT $2`,
    [orderId, limit],
  );
  return rows.map((r) => r.body);
}
