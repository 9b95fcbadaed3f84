import type { Pool } from 'pg';

export interface TrailPoint {
  seq: number;
  /** Device time, epoch ms. */
  ts: number;
  lat: number;
  lng: number;
}

/** A courier's stored positions in [fromMs, toMs), in time order; uses the (courier_id, ts, seq) key. */
export async function readTrail(db: Pool, courierId: string, fromMs: number, toMs: number): Promise<TrailPoint[]> {
  const { rows } = await db.query<{ seq: string; ms: string; lat: number; lng: number }>(
    `select seq, (extract(epoch from ts) * 1000)::bigint as ms, lat, lng
       from courier_positions
      where courier_id = $1 and ts >= to_timestamp($2::double precision / 1000) and ts < to_timestamp($3::double precision / 1000)
      order by ts, seq`,
    [courierId, fromMs, toMs],
  );
  return rows.map((r) => ({ seq: Number(r.seq), ts: Number(r.ms), lat: r.lat, lng: r.lng }));
}
