/**
 * After a live replay: what the service itself recorded, read from Postgres. Double assignments (an
 * order offered or assigned to two couriers at the same time) are counted three independent ways —
 * overlapping open offers, overlapping assignment rows, and more than one accepted offer in an order's
 * event history — plus the simulator's own view (an order in two couriers' routes). All must be 0.
 * The service's timestamps of deliveries give a click-to-door measured by the service, to cross-check
 * the one the simulated couriers report.
 */
import type { Pool } from 'pg';

export interface DoubleAssignmentAudit {
  /** Orders that were in two offers open at the same time. */
  readonly overlappingOffers: number;
  /** Orders with two assignment rows whose periods overlap. */
  readonly overlappingAssignments: number;
  /** Orders accepted more than once in their event history. */
  readonly acceptedTwice: number;
  /** Orders that two simulated couriers executed. */
  readonly executedTwice: number;
  readonly total: number;
}

export interface ServiceRecord {
  /** Orders the service has as delivered. */
  readonly delivered: number;
  /** Mean (delivered event − placedAt) in minutes, over delivered orders. */
  readonly ctdMeanMin: number;
  /** Orders by final status. */
  readonly byStatus: Readonly<Record<string, number>>;
  /** Orders whose delivering courier in the service differs from the simulator's. */
  readonly courierMismatches: number;
}

export async function auditDoubleAssignments(db: Pool, executed: ReadonlyMap<string, readonly string[]>): Promise<DoubleAssignmentAudit> {
  const offers = await db.query<{ n: string }>(`
    SELECT count(DISTINCT o) AS n
    FROM offers a
    JOIN offers b ON a.id < b.id AND a.order_ids && b.order_ids
      AND a.created_at < coalesce(b.answered_at, 'infinity') AND b.created_at < coalesce(a.answered_at, 'infinity')
    CROSS JOIN LATERAL unnest(a.order_ids) AS o
    WHERE o = ANY (b.order_ids)`);
  const assignments = await db.query<{ n: string }>(`
    SELECT count(DISTINCT a.order_id) AS n
    FROM assignments a
    JOIN assignments b ON a.order_id = b.order_id AND a.id < b.id
      AND a.assigned_at < coalesce(b.ended_at, 'infinity') AND b.assigned_at < coalesce(a.ended_at, 'infinity')`);
  const accepted = await db.query<{ n: string }>(`
    SELECT count(*) AS n FROM (
      SELECT order_id FROM order_events WHERE type = 'accepted' GROUP BY order_id HAVING count(*) > 1
    ) t`);
  let executedTwice = 0;
  for (const couriers of executed.values()) if (couriers.length > 1) executedTwice++;
  const overlappingOffers = Number(offers.rows[0]!.n);
  const overlappingAssignments = Number(assignments.rows[0]!.n);
  const acceptedTwice = Number(accepted.rows[0]!.n);
  return {
    overlappingOffers,
    overlappingAssignments,
    acceptedTwice,
    executedTwice,
    total: overlappingOffers + overlappingAssignments + acceptedTwice + executedTwice,
  };
}

/** `couriersByOrder`: MDRP order id → the simulated courier that delivered it. */
export async function serviceRecord(db: Pool, couriersByOrder: ReadonlyMap<string, string>): Promise<ServiceRecord> {
  const statuses = await db.query<{ status: string; n: string }>(`SELECT status, count(*) AS n FROM orders GROUP BY status`);
  const byStatus: Record<string, number> = {};
  for (const r of statuses.rows) byStatus[r.status] = Number(r.n);
  const delivered = await db.query<{ external_id: string; courier_id: string | null; ctd_ms: string }>(`
    SELECT o.external_id, o.courier_id, extract(epoch FROM (e.at - o.placed_at)) * 1000 AS ctd_ms
    FROM orders o JOIN order_events e ON e.order_id = o.id AND e.type = 'delivered'
    WHERE o.status = 'delivered'`);
  let sum = 0;
  let courierMismatches = 0;
  for (const r of delivered.rows) {
    sum += Number(r.ctd_ms) / 60_000;
    if (couriersByOrder.get(r.external_id) !== r.courier_id) courierMismatches++;
  }
  const n = delivered.rows.length;
  return { delivered: n, ctdMeanMin: n ? sum / n : Number.NaN, byStatus, courierMismatches };
}
