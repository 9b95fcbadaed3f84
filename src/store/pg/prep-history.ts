/**
 * The prep-time history behind the learned ready times (domain/prep-time.ts): for each order whose ready
 * time is known (a `ready` event set it) placed in [since, until), its store, placement, actual ready
 * time and the store's own estimate at placement (the `placed` event's readyAt; an estimate equal to
 * the placement means the store gave none). Newest `limit` rows, returned oldest first so a model's
 * ring buffers keep the most recent ones. Served by orders_ready_placed (sql/0011_prep_history.sql).
 */
import type { Pool } from 'pg';
import type { PrepSample } from '../../domain/prep-time.js';

/** Upper bound of rows one refresh reads (memory and time bound on a busy deployment). */
export const PREP_HISTORY_LIMIT = 200_000;

export async function prepHistory(db: Pick<Pool, 'query'>, since: number, until: number, limit = PREP_HISTORY_LIMIT): Promise<PrepSample[]> {
  const { rows } = await db.query<{ store_id: string; placed_ms: number; ready_ms: number; estimate_ms: number | null }>(
    `SELECT o.store_id,
            (extract(epoch FROM o.placed_at) * 1000)::float8 AS placed_ms,
            (extract(epoch FROM o.ready_at) * 1000)::float8 AS ready_ms,
            (e.data->>'readyAt')::float8 AS estimate_ms
       FROM orders o
       LEFT JOIN order_events e ON e.order_id = o.id AND e.version = 1 AND e.type = 'placed'
      WHERE o.ready_known AND o.placed_at >= $1 AND o.placed_at < $2
      ORDER BY o.placed_at DESC
      LIMIT $3`,
    [new Date(since), new Date(until), limit],
  );
  return rows.reverse().map((r) => prepSample(r.store_id, r.placed_ms, r.ready_ms, r.estimate_ms));
}

/** One sample: the store's estimate counts only when it is after the placement. */
export function prepSample(storeId: string, placedAtMs: number, readyAtMs: number, estimateReadyAtMs: number | null | undefined): PrepSample {
  return {
    storeId,
    placedAtMs,
    prepS: (readyAtMs - placedAtMs) / 1000,
    ...(estimateReadyAtMs != null && estimateReadyAtMs > placedAtMs ? { storeEstimateS: (estimateReadyAtMs - placedAtMs) / 1000 } : {}),
  };
}
