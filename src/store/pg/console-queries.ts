/**
 * Read-only queries behind the dispatcher console (gateway/ws/console.ts): the orders that are still
 * in play, each courier's load, and the deliveries a KPI window looks at. All bounded, all served by
 * the indexes of 0003_orders.sql; nothing here writes.
 */
import type { Pool } from 'pg';
import { ACTIVE_STATUSES, OPEN_STATUSES, type Order } from '../../domain/order.js';
import type { DeliveredOrder } from '../../domain/kpis.js';
import { ORDER_COLUMNS, orderFromRow, type OrderRow } from './order-rows.js';

/** Orders waiting for a courier, on offer, or with one: everything a dispatcher can still act on. */
export const LIVE_STATUSES: readonly Order['status'][] = [...OPEN_STATUSES, 'offered', ...ACTIVE_STATUSES];

/** Orders in play, oldest placement first (the ones most at risk lead the list). */
export async function liveOrders(db: Pool, limit: number): Promise<Order[]> {
  const { rows } = await db.query<OrderRow>(
    `SELECT ${ORDER_COLUMNS.join(', ')} FROM orders WHERE status = ANY($1::text[]) ORDER BY placed_at, id LIMIT $2`,
    [LIVE_STATUSES, limit],
  );
  return rows.map(orderFromRow);
}

/** Active orders (assigned … returning) per courier; couriers without any are absent. */
export async function courierLoads(db: Pool): Promise<Map<string, number>> {
  const { rows } = await db.query<{ courier_id: string; n: number }>(
    `SELECT courier_id, count(*)::int AS n FROM orders WHERE courier_id IS NOT NULL AND status = ANY($1::text[]) GROUP BY courier_id`,
    [ACTIVE_STATUSES],
  );
  return new Map(rows.map((r) => [r.courier_id, r.n]));
}

/** Couriers with an open offer (waiting for their answer). */
export async function offeredCouriers(db: Pool): Promise<Set<string>> {
  const { rows } = await db.query<{ courier_id: string }>(`SELECT DISTINCT courier_id FROM offers WHERE status = 'open'`);
  return new Set(rows.map((r) => r.courier_id));
}

/** Longest click-to-door the KPI query looks back for (bounds the index range scan on created_at). */
const MAX_ORDER_AGE_MS = 86_400_000;

/**
 * Orders delivered in [from, to] (service-clock times; a delivered order's `updated_at` is its
 * delivery, since nothing follows a terminal status), with the start of the assignment that delivered
 * them. Orders that took longer than a day from placement are left out.
 */
export async function deliveredBetween(db: Pool, from: number, to: number, limit: number): Promise<DeliveredOrder[]> {
  const { rows } = await db.query<{ courier_id: string | null; placed_at: Date; promised_by: Date; updated_at: Date; assigned_at: Date | null; fleet: string }>(
    `SELECT o.courier_id, o.fleet, o.placed_at, o.promised_by, o.updated_at, a.assigned_at
       FROM orders o
       LEFT JOIN LATERAL (
         SELECT assigned_at FROM assignments WHERE order_id = o.id AND end_status = 'delivered' ORDER BY assigned_at DESC LIMIT 1
       ) a ON true
      WHERE o.status = 'delivered' AND o.created_at >= $1 AND o.updated_at >= $2 AND o.updated_at <= $3
      ORDER BY o.updated_at DESC
      LIMIT $4`,
    [new Date(from - MAX_ORDER_AGE_MS), new Date(from), new Date(to), limit],
  );
  return rows.map((r) => ({
    courierId: r.courier_id,
    placedAt: r.placed_at.getTime(),
    promisedBy: r.promised_by.getTime(),
    deliveredAt: r.updated_at.getTime(),
    assignedAt: r.assigned_at ? r.assigned_at.getTime() : null,
    fleet: r.fleet,
  }));
}
