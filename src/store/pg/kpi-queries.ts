/**
 * The per-bucket counts behind GET /v1/kpis, in one query: orders placed per bucket (placed_at),
 * orders delivered per bucket (a delivered order's updated_at is its delivery), of those on time
 * (≤ promised_by), and click-to-door percentiles with percentile_disc — the nearest-rank rule the
 * console KPIs use (domain/kpis.ts). Orders created more than a day before the range are not looked at
 * (bounds the created_at index scan).
 */
import type { Pool } from 'pg';
import type { KpiBucketCounts, KpiRange } from '../../domain/kpi-buckets.js';
import { OWN_FLEET, type CarrierCostGroup, type FleetCounts } from '../../domain/fleet-kpis.js';
import type { CourierShift } from '../../domain/kpis.js';

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

/**
 * Per-fleet counts over [from, to) (domain/fleet-kpis.ts): orders placed (by the fleet they have now),
 * orders delivered, on time, click-to-door percentiles (percentile_disc, nearest rank), the own
 * couriers' shifts behind their deliveries (each from the start of the assignment that delivered the
 * order, not before `from`, to its delivery) and what each carrier charged per currency. Four small
 * grouped reads of the same orders, in one round trip.
 */
export async function fleetKpiCounts(db: Pool, from: number, to: number): Promise<FleetCounts[]> {
  const params = [new Date(from - LOOKBACK_MS), new Date(from), new Date(to)];
  const { rows } = await db.query<{
    kind: 'fleet' | 'shift' | 'cost';
    fleet: string;
    key: string | null;
    a: string | null;
    b: string | null;
    c: string | null;
    p50: number | null;
    p90: number | null;
  }>(
    `WITH delivered AS (
       SELECT o.fleet, o.courier_id, o.placed_at, o.promised_by, o.updated_at, o.carrier_cost_minor, o.carrier_cost_currency,
              (SELECT a.assigned_at FROM assignments a WHERE a.order_id = o.id AND a.end_status = 'delivered' ORDER BY a.assigned_at DESC LIMIT 1) AS assigned_at
         FROM orders o
        WHERE o.status = 'delivered' AND o.created_at >= $1 AND o.updated_at >= $2 AND o.updated_at < $3),
     placed AS (
       SELECT fleet, count(*) AS n FROM orders WHERE created_at >= $1 AND placed_at >= $2 AND placed_at < $3 GROUP BY fleet),
     per_fleet AS (
       SELECT fleet, count(*) AS n, count(*) FILTER (WHERE updated_at <= promised_by) AS on_time,
              percentile_disc(0.5) WITHIN GROUP (ORDER BY round(extract(epoch FROM updated_at - placed_at) * 1000)) AS p50,
              percentile_disc(0.9) WITHIN GROUP (ORDER BY round(extract(epoch FROM updated_at - placed_at) * 1000)) AS p90
         FROM delivered GROUP BY fleet)
     SELECT 'fleet' AS kind, coalesce(f.fleet, p.fleet) AS fleet, NULL AS key,
            coalesce(p.n, 0)::text AS a, coalesce(f.n, 0)::text AS b, coalesce(f.on_time, 0)::text AS c, f.p50::float8 AS p50, f.p90::float8 AS p90
       FROM per_fleet f FULL JOIN placed p ON p.fleet = f.fleet
     UNION ALL
     SELECT 'shift', fleet, courier_id, count(*)::text,
            (extract(epoch FROM min(greatest($2::timestamptz, coalesce(assigned_at, placed_at)))) * 1000)::bigint::text,
            (extract(epoch FROM max(updated_at)) * 1000)::bigint::text, NULL, NULL
       FROM delivered WHERE fleet = '${OWN_FLEET}' GROUP BY fleet, courier_id
     UNION ALL
     SELECT 'cost', fleet, carrier_cost_currency, count(*)::text, sum(carrier_cost_minor)::text, NULL, NULL, NULL
       FROM delivered WHERE fleet <> '${OWN_FLEET}' AND carrier_cost_minor IS NOT NULL GROUP BY fleet, carrier_cost_currency`,
    params,
  );
  const fleets = new Map<string, { counts: Omit<FleetCounts, 'shifts' | 'carrierCosts' | 'unattributed'>; shifts: CourierShift[]; unattributed: number; costs: CarrierCostGroup[] }>();
  for (const r of rows.filter((r) => r.kind === 'fleet')) {
    fleets.set(r.fleet, {
      counts: { fleet: r.fleet, placed: Number(r.a), delivered: Number(r.b), onTime: Number(r.c), ctdP50Ms: r.p50, ctdP90Ms: r.p90 },
      shifts: [],
      unattributed: 0,
      costs: [],
    });
  }
  for (const r of rows) {
    const f = fleets.get(r.fleet);
    if (!f || r.kind === 'fleet') continue;
    if (r.kind === 'shift') {
      if (r.key === null) f.unattributed += Number(r.a);
      else f.shifts.push({ courierId: r.key, orders: Number(r.a), start: Number(r.b), end: Number(r.c) });
    } else f.costs.push({ currency: r.key!, orders: Number(r.a), totalMinor: Number(r.b) });
  }
  return [...fleets.values()].map((f) =>
    f.counts.fleet === OWN_FLEET ? { ...f.counts, shifts: f.shifts, unattributed: f.unattributed } : { ...f.counts, carrierCosts: f.costs },
  );
}
