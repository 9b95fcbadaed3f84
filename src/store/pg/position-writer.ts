/**
 * Writes accepted points to courier_positions in one transaction per batch.
 *
 * Fast path: binary COPY straight into the table. Binary spares Postgres parsing text floats and timestamps,
 * and straight spares it a staging table — together about half its CPU per row. COPY cannot skip rows
 * that are already there, so a batch delivered twice (after a crash before the stream ack) fails on the
 * primary key; it is then written again through a session temp table and INSERT … ON CONFLICT DO NOTHING,
 * which adds only the rows that are new. Both paths send the same binary data (no text floats: Postgres'
 * text input refuses values its binary input takes, such as 1e-50 for a real).
 */
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { Pool, PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { StoredPoint } from '../redis/location-index.js';
import { dayStart, ensurePartition } from './position-partitions.js';

const COLUMNS = 'courier_id, seq, ts, lat, lng, acc, speed, heading, received_at';
const STAGING = 'courier_positions_staging';
// Same columns and types as the table, so the staging COPY is the same binary data as the fast path.
const STAGING_DDL = `create temp table if not exists ${STAGING} (like courier_positions) on commit delete rows`;
const INSERT = `insert into courier_positions (${COLUMNS}) select ${COLUMNS} from ${STAGING} on conflict do nothing`;

/**
 * A point that cannot be stored as it is (a value outside its column's type): retrying cannot help, so
 * the sink isolates it and dead-letters it instead (history-sink.ts).
 */
export class PointDataError extends Error {
  readonly dataError = true;
}

/** Largest finite float4, and the smallest normal one: below it a real is subnormal or rounds to 0. */
const REAL_MAX = 3.4028234663852886e38;
const REAL_MIN_NORMAL = 1.1754943508222875e-38;

/**
 * SQLSTATE classes of errors about the rows themselves (22 data exception, 23 integrity violation):
 * splitting the batch isolates the bad rows. Everything else (connection lost, server shutting down,
 * too many clients, …) is transient and retried as it is.
 */
export function isDataError(err: unknown): boolean {
  if (err instanceof PointDataError) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}

/** Postgres timestamps count microseconds from 2000-01-01 UTC. */
const PG_EPOCH_MS = 946_684_800_000;
const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const FIELDS_PER_ROW = 9;

/** COPY BINARY data (header, one tuple per point, trailer) in COLUMNS order. */
export function copyBinary(points: readonly StoredPoint[]): Buffer {
  let size = COPY_SIGNATURE.length + 8 + 2;
  const ids: Buffer[] = new Array(points.length);
  for (let i = 0; i < points.length; i++) {
    checkPoint(points[i]);
    ids[i] = Buffer.from(points[i].courierId, 'utf8');
    // field count, then per field a 4-byte length: id, 4 × 8-byte (seq, ts, lat, lng), 3 × 4-byte reals, 8-byte received_at
    size += 2 + FIELDS_PER_ROW * 4 + ids[i].length + 5 * 8 + 3 * 4;
  }
  const buf = Buffer.allocUnsafe(size);
  let o = COPY_SIGNATURE.copy(buf, 0);
  o = buf.writeInt32BE(0, o); // flags
  o = buf.writeInt32BE(0, o); // header extension length
  for (let i = 0; i < points.length; i++) {
    const p = points[i];
    o = buf.writeInt16BE(FIELDS_PER_ROW, o);
    o = buf.writeInt32BE(ids[i].length, o);
    o += ids[i].copy(buf, o);
    o = writeInt64(buf, o, p.seq);
    o = writeInt64(buf, o, (p.ts - PG_EPOCH_MS) * 1000);
    o = buf.writeInt32BE(8, o);
    o = buf.writeDoubleBE(p.lat, o);
    o = buf.writeInt32BE(8, o);
    o = buf.writeDoubleBE(p.lng, o);
    o = writeReal(buf, o, p.acc);
    o = writeReal(buf, o, p.speed);
    o = writeReal(buf, o, p.heading);
    o = writeInt64(buf, o, (p.serverTs - PG_EPOCH_MS) * 1000);
  }
  o = buf.writeInt16BE(-1, o); // trailer
  return buf.subarray(0, o);
}

/**
 * Refuses values binary COPY would silently change: a non-finite double, or a real that overflows to
 * Infinity or underflows to 0 / a subnormal (ingest clamps tiny reals to 0 and caps their ranges, see
 * README "Courier locations"; this guards entries written before that or by other producers).
 */
function checkPoint(p: StoredPoint): void {
  if (typeof p.courierId !== 'string' || p.courierId === '') throw new PointDataError('courier_id: empty');
  for (const f of ['seq', 'ts', 'serverTs'] as const) {
    if (!Number.isSafeInteger(p[f])) throw new PointDataError(`${f}: ${p[f]} is not a safe integer`);
  }
  if (!Number.isFinite(p.lat) || !Number.isFinite(p.lng)) throw new PointDataError(`lat/lng: ${p.lat},${p.lng} not finite`);
  for (const f of ['acc', 'speed', 'heading'] as const) {
    const v = p[f];
    if (v === undefined || v === null || v === 0) continue;
    const a = Math.abs(v);
    if (!(a <= REAL_MAX) || a < REAL_MIN_NORMAL) throw new PointDataError(`${f}: ${v} does not fit a real`);
  }
}

/** A length-prefixed int8 from a safe integer (split in two words: no BigInt on the hot path). */
function writeInt64(buf: Buffer, o: number, value: number): number {
  const v = Math.round(value);
  const hi = Math.floor(v / 4_294_967_296);
  o = buf.writeInt32BE(8, o);
  o = buf.writeInt32BE(hi, o);
  return buf.writeUInt32BE(v - hi * 4_294_967_296, o);
}

/** A length-prefixed float4, or NULL (length -1, no bytes). */
function writeReal(buf: Buffer, o: number, value: number | undefined): number {
  if (value === undefined || value === null) return buf.writeInt32BE(-1, o);
  o = buf.writeInt32BE(4, o);
  return buf.writeFloatBE(value, o);
}

const UNIQUE_VIOLATION = '23505';

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
    try {
      return await this.copyDirect(points);
    } catch (err) {
      if ((err as { code?: string }).code !== UNIQUE_VIOLATION) throw err;
      return await this.copyDeduplicated(points);
    }
  }

  /** All rows are new (the usual case): binary COPY into the table itself. */
  private async copyDirect(points: readonly StoredPoint[]): Promise<number> {
    const client = await this.db.connect();
    let ok = false;
    try {
      await client.query('begin');
      await pipeline(Readable.from([copyBinary(points)]), client.query(copyFrom(`copy courier_positions (${COLUMNS}) from stdin with (format binary)`)));
      await client.query('commit');
      ok = true;
      return points.length;
    } finally {
      if (!ok) await client.query('rollback').catch(() => {});
      client.release(ok ? undefined : true);
    }
  }

  /** Some rows may be stored already (a redelivered batch): stage, then insert only the new ones. */
  private async copyDeduplicated(points: readonly StoredPoint[]): Promise<number> {
    const client = await this.db.connect();
    let ok = false;
    try {
      if (!this.stagingReady.has(client)) {
        await client.query(STAGING_DDL);
        this.stagingReady.add(client);
      }
      await client.query('begin');
      await pipeline(Readable.from([copyBinary(points)]), client.query(copyFrom(`copy ${STAGING} (${COLUMNS}) from stdin with (format binary)`)));
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
