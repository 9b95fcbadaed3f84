/**
 * The per-bucket counts behind GET /v1/kpis, in one query: orders placed per bucket (placed_at),
 * orders delivered per bucket (a delivered order's updated_at is its delivery), of those on time
 * (≤ promised_by), and click-to-door percentiles with percentile_disc — the nearest-rank rule the
 * console KPIs use (domain/kpis.ts). Orders created more than a day before the range are not looked at
 * (bounds the created_at index scan).
 */
import type { Pool } from 'pg';
import type { KpiBucketCounts, KpiRange } from '../../domain/kpi-buckets.js';

const LOOKBACK_MS = 86_400_000;

export async function kpiBucketCounts(db: Pool, range: KpiRange): Promise<KpiBucketCounts[]> {
  const { rows } = await db.query<{ i: number; placed: number; delivered: number; on_time: number; p50: number | null; p90: number | null }>(
    `WITH buckets AS (SELECT generate_series(0, $3::int - 1) AS i),
     placed AS (
       SELECT floor((extract(epoch FROM placed_at) * 1000 - $1::bigint) / $2::bigint)::int AS i, count(*)::int AS n
         FROM orders
        WHERE created_at >= $4 AND placed_at >= $5 AND placed_at < $6
        GROUP BY 1),
     delivered AS (
       SELECT floor((extract(epoch FROM updated_at) * 1000 - $1::bigint) / $2::bigint)::int AS i,
              count(*)::int AS n,
              (count(*) FILTER (WHERE updated_at <= promised_by))::int AS on_time,
              percentile_disc(0.5) WITHIN GROUP (ORDER BY round(extract(epoch FROM updated_at - placed_at) * 1000)) AS p50,
              percentile_disc(0.9) WITHIN GROUP (ORDER BY round(extract(epoch FROM updated_at - placed_at) * 1000)) AS p90
         FROM orders
        WHERE status = 'delivered' AND created_at >= $4 AND updated_at >= $5 AND updated_at < $6
        GROUP BY 1)
     SELECT b.i, coalesce(p.n, 0) AS placed, coalesce(d.n, 0) AS delivered, coalesce(d.on_time, 0) AS on_time,
            d.p50::float8 AS p50, d.p90::float8 AS p90
       FROM buckets b LEFT JOIN placed p USING (i) LEFT JOIN delivered d USING (i)
      ORDER BY b.i`,
    [range.from, range.bucketMs, range.count, new Date(range.from - LOOKBACK_MS), new Date(range.from), new Date(range.to)],
  );
  return rows.map((r) => ({ placed: r.placed, delivered: r.delivered, onTime: r.on_time, ctdP50Ms: r.p50, ctdP90Ms: r.p90 }));
}
