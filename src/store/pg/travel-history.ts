/**
 * The couriers' trails behind the calibrated travel times (domain/travel-calibration.ts): stored
 * positions in [since, until), per courier in time order (the courier_positions key (courier_id, ts,
 * seq) serves it, partition by partition). Bounded by `limit` rows: the most recent couriers' trails
 * past it are not read (a refresh is a sample, not an audit).
 */
import type { Pool } from 'pg';
import type { TrailFix } from '../../domain/travel-calibration.js';

/** Upper bound of position rows one refresh reads. */
export const TRAVEL_HISTORY_LIMIT = 1_000_000;

export async function courierTrails(db: Pick<Pool, 'query'>, since: number, until: number, limit = TRAVEL_HISTORY_LIMIT): Promise<Map<string, TrailFix[]>> {
  const { rows } = await db.query<{ courier_id: string; ms: number; lat: number; lng: number }>(
    `SELECT courier_id, (extract(epoch FROM ts) * 1000)::float8 AS ms, lat, lng
       FROM courier_positions
      WHERE ts >= $1 AND ts < $2
      ORDER BY courier_id, ts, seq
      LIMIT $3`,
    [new Date(since), new Date(until), limit],
  );
  const out = new Map<string, TrailFix[]>();
  for (const r of rows) {
    const list = out.get(r.courier_id);
    const fix = { ts: r.ms, lat: r.lat, lng: r.lng };
    if (list) list.push(fix);
    else out.set(r.courier_id, [fix]);
  }
  return out;
}
