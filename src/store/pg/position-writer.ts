/**
 * Writes accepted points to courier_positions in one transaction per batch: COPY into a session temp
 * table, then INSERT … ON CONFLICT DO NOTHING, so a batch delivered twice (after a crash before the
 * stream ack) adds no duplicates. COPY keeps the per-row cost low; the conflict check needs the staging step
 * because COPY itself cannot skip conflicting rows.
 */
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { Pool, PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { StoredPoint } from '../redis/location-index.js';
import { dayStart, ensurePartition } from './position-partitions.js';

const COLUMNS = 'courier_id, seq, ts, lat, lng, acc, speed, heading, received_at';
const STAGING = 'courier_positions_staging';
// Times travel as epoch ms and become timestamptz in Postgres (exact integer arithmetic, cheaper than
// formatting two ISO strings per row in JavaScript).
const STAGING_COLUMNS = 'courier_id, seq, ts_ms, lat, lng, acc, speed, heading, received_ms';
const STAGING_DDL = `create temp table if not exists ${STAGING} (
  courier_id text, seq bigint, ts_ms bigint, lat double precision, lng double precision,
  acc real, speed real, heading real, received_ms bigint) on commit delete rows`;
const MS = `timestamptz 'epoch' + interval '1 millisecond' *`;
const INSERT = `insert into courier_positions (${COLUMNS})
  select courier_id, seq, ${MS} ts_ms, lat, lng, acc, speed, heading, ${MS} received_ms from ${STAGING}
  on conflict do nothing`;

/** COPY text format: escape the characters that delimit fields and rows. */
function copyText(value: string): string {
  return value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

function copyNumber(value: number | undefined): string {
  return value === undefined || value === null ? '\\N' : String(value);
}

export function copyRows(points: readonly StoredPoint[]): string {
  let out = '';
  for (const p of points) {
    out +=
      `${copyText(p.courierId)}\t${p.seq}\t${p.ts}\t${p.lat}\t${p.lng}\t` +
      `${copyNumber(p.acc)}\t${copyNumber(p.speed)}\t${copyNumber(p.heading)}\t${p.serverTs}\n`;
  }
  return out;
}

export class PositionWriter {
  private readonly knownDays = new Set<number>();
  private readonly stagingReady = new WeakSet<PoolClient>();

  constructor(private readonly db: Pool) {}

  /** Writes the points in one transaction; returns how many rows were new. */
  async write(points: readonly StoredPoint[]): Promise<number> {
    if (points.length === 0) return 0;
    try {
      return await this.writeOnce(points);
    } catch (err) {
      // 23514: no partition for a row — a cached day was dropped by retention meanwhile; re-check once.
      if ((err as { code?: string }).code !== '23514') throw err;
      this.knownDays.clear();
      return await this.writeOnce(points);
    }
  }

  private async writeOnce(points: readonly StoredPoint[]): Promise<number> {
    await this.ensurePartitions(points);
    const client = await this.db.connect();
    let ok = false;
    try {
      if (!this.stagingReady.has(client)) {
        await client.query(STAGING_DDL);
        this.stagingReady.add(client);
      }
      await client.query('begin');
      await pipeline(Readable.from([copyRows(points)]), client.query(copyFrom(`copy ${STAGING} (${STAGING_COLUMNS}) from stdin`)));
      const res = await client.query(INSERT);
      await client.query('commit');
      ok = true;
      return res.rowCount ?? 0;
    } finally {
      if (!ok) await client.query('rollback').catch(() => {});
      // A connection in an unknown state is discarded rather than reused.
      client.release(ok ? undefined : true);
    }
  }

  private async ensurePartitions(points: readonly StoredPoint[]): Promise<void> {
    for (const p of points) {
      const day = dayStart(p.ts);
      if (this.knownDays.has(day)) continue;
      await ensurePartition(this.db, day);
      this.knownDays.add(day);
    }
  }
}
