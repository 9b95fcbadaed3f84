/**
 * Issue 11: no value the courier socket accepts may poison the history's COPY. For every field of a
 * courier point, the extremes of what the schema (courier-frames.ts) and the filters (location-filter.ts,
 * default limits) accept, after the ingest's own conversion (storedReal), must fit the PostgreSQL column
 * type of courier_positions as the migration declares it: a `real` holds it finite and normal (or 0), a
 * `double precision` finite, a `bigint` exactly, a `timestamptz` inside its range. The binary COPY encoder
 * must take the extreme point without refusing it (it refuses what would not fit: PointDataError).
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { loadConfig } from '../../src/config.js';
import { MAX_POINT_SPEED_MS, PointSchema } from '../../src/gateway/ws/courier-frames.js';
import { pointCheck } from '../../src/gateway/ws/courier-frames.js';
import { CourierTrack, rejectReason, storedReal, TINY_REAL, type FilterLimits, type LocationPoint } from '../../src/domain/location-filter.js';
import { copyBinary } from '../../src/store/pg/position-writer.js';

const FLOAT4_MAX = 3.4028234663852886e38;
const FLOAT4_MIN_NORMAL = 1.1754943508222875e-38;
const INT8_MAX = 2n ** 63n - 1n;
/**
 * timestamptz: 4713 BC to 294276 AD — PostgreSQL's MIN_TIMESTAMP / END_TIMESTAMP (µs from 2000-01-01)
 * as epoch ms (beyond JavaScript's Date range, hence the numbers).
 */
const PG_EPOCH_MS = 946_684_800_000;
const TIMESTAMPTZ_MAX_MS = 9_223_371_331_200_000 + PG_EPOCH_MS; // END_TIMESTAMP µs / 1000
const TIMESTAMPTZ_MIN_MS = -211_813_488_000_000 + PG_EPOCH_MS; // MIN_TIMESTAMP µs / 1000

/** The column types of courier_positions as the migration declares them. */
function columnTypes(): Record<string, string> {
  const sql = readFileSync(new URL('../../sql/0002_courier_positions.sql', import.meta.url), 'utf8');
  const types: Record<string, string> = {};
  for (const m of sql.matchAll(/^\s+(\w+)\s+(real|double precision|bigint|timestamptz|text)\b/gm)) types[m[1]] = m[2];
  return types;
}

/** The schema's [minimum, maximum] of a numeric point field (undefined: unbounded on that side). */
function schemaRange(field: keyof typeof PointSchema.properties): [number | undefined, number | undefined] {
  const s = PointSchema.properties[field] as { minimum?: number; maximum?: number };
  return [s.minimum, s.maximum];
}

function fitsReal(v: number): boolean {
  const f = Math.fround(v);
  return Number.isFinite(f) && (f === 0 || Math.abs(f) >= FLOAT4_MIN_NORMAL) && Math.abs(v) <= FLOAT4_MAX;
}

const config = loadConfig({});
const limits: FilterLimits = {
  maxSpeedKmh: config.maxSpeedKmh,
  maxAccuracyM: config.maxAccuracyM,
  maxFutureSkewMs: config.maxFutureSkewMs,
  retentionMs: config.retentionDays * 86_400_000,
};
const NOW = Date.UTC(2026, 11, 6, 12, 0, 0);

/** Whether the socket accepts the point (schema, then the filters for a fresh courier). */
function accepted(p: LocationPoint): boolean {
  return pointCheck.Check(p) && rejectReason(p, new CourierTrack(), limits, NOW) === null;
}

const base: LocationPoint = { seq: 1, ts: NOW - 1000, lat: 52.52, lng: 13.405 };

t.test('the migration declares the types this test checks against', async (t) => {
  t.match(columnTypes(), {
    seq: 'bigint',
    ts: 'timestamptz',
    lat: 'double precision',
    lng: 'double precision',
    acc: 'real',
    speed: 'real',
    heading: 'real',
    received_at: 'timestamptz',
  });
});

t.test('acc, speed, heading: every accepted value is stored as a real PostgreSQL holds (finite, normal or 0)', async (t) => {
  const types = columnTypes();
  const upper: Record<'acc' | 'speed' | 'heading', number> = {
    // no schema maximum: above MAX_ACCURACY_M the filter rejects it (poor_accuracy)
    acc: schemaRange('acc')[1] ?? limits.maxAccuracyM,
    speed: schemaRange('speed')[1]!,
    heading: schemaRange('heading')[1]!,
  };
  t.equal(upper.speed, MAX_POINT_SPEED_MS);
  for (const field of ['acc', 'speed', 'heading'] as const) {
    t.equal(types[field], 'real', `${field} is a real column`);
    const [min] = schemaRange(field);
    t.equal(min, 0, `${field}: schema minimum 0`);
    const candidates = [0, -0, Number.MIN_VALUE, 1e-300, 1e-50, FLOAT4_MIN_NORMAL / 2, TINY_REAL / 2, TINY_REAL, TINY_REAL * 1.5, 0.5, upper[field] / 3, upper[field], upper[field] * 2, 1e39, 1e300];
    let acceptedCount = 0;
    for (const v of candidates) {
      const p = { ...base, [field]: v };
      if (!accepted(p)) {
        t.ok(v > upper[field] || v < 0, `${field}=${v} refused only outside [0, ${upper[field]}]`);
        continue;
      }
      acceptedCount++;
      t.ok(v <= upper[field], `${field}=${v} accepted only within the documented range`);
      const stored = storedReal(v)!;
      t.ok(fitsReal(stored), `${field}=${v} is stored as ${stored}, which a real holds`);
      // precision: a real keeps ~7 significant digits, and 0 stays 0
      if (stored !== 0) t.ok(Math.abs(Math.fround(stored) - stored) / stored < 2 ** -23, `${field}=${v}: a real keeps it to 7 digits`);
    }
    t.ok(acceptedCount >= 10, `${field}: the boundary values inside the range were accepted (${acceptedCount})`);
  }
});

t.test('lat/lng are finite doubles within the globe; seq is an exact bigint; ts and received_at fit timestamptz', async (t) => {
  for (const [lat, lng] of [
    [90, 180],
    [-90, -180],
    [1e-300, 5e-324],
  ]) {
    t.ok(accepted({ ...base, lat, lng }), `(${lat}, ${lng}) accepted`);
    t.ok(Number.isFinite(lat) && Number.isFinite(lng), 'finite doubles');
  }
  for (const [lat, lng] of [
    [90.0000001, 0.1],
    [0.1, 180.0000001],
    [1e308 * 10, 1],
  ]) {
    t.notOk(accepted({ ...base, lat, lng }), `(${lat}, ${lng}) refused`);
  }
  const [seqMin, seqMax] = schemaRange('seq');
  t.equal(seqMin, 0);
  t.ok(seqMax !== undefined && BigInt(seqMax) <= INT8_MAX && Number.isSafeInteger(seqMax), `seq ≤ ${seqMax}: an exact bigint`);
  t.ok(accepted({ ...base, seq: seqMax! }), 'the highest seq is accepted');
  // ts: the filters bound it to [now − retention, now + skew]; the schema alone to a safe integer of ms
  const [, tsMax] = schemaRange('ts');
  t.ok(tsMax! <= TIMESTAMPTZ_MAX_MS, 'even the schema maximum of ts is inside timestamptz');
  t.ok(accepted({ ...base, ts: NOW + limits.maxFutureSkewMs }) && !accepted({ ...base, ts: NOW + limits.maxFutureSkewMs + 1 }), 'ts up to the skew');
  t.ok(accepted({ ...base, ts: NOW - limits.retentionMs }) && !accepted({ ...base, ts: NOW - limits.retentionMs - 1 }), 'ts back to the retention');
  t.ok(NOW - limits.retentionMs > TIMESTAMPTZ_MIN_MS && NOW + limits.maxFutureSkewMs < TIMESTAMPTZ_MAX_MS, 'the accepted ts window is inside timestamptz');
});

t.test('the binary COPY encoder takes the extreme accepted point (nothing it would refuse is accepted)', async (t) => {
  const extremes: LocationPoint[] = [
    { seq: Number.MAX_SAFE_INTEGER, ts: NOW + limits.maxFutureSkewMs, lat: 90, lng: 180, acc: limits.maxAccuracyM, speed: MAX_POINT_SPEED_MS, heading: 360 },
    { seq: 0, ts: NOW - limits.retentionMs, lat: -90, lng: -180, acc: 0, speed: 0, heading: 0 },
    { seq: 2, ts: NOW, lat: 1e-300, lng: 5e-324, acc: 1e-50, speed: Number.MIN_VALUE, heading: TINY_REAL / 2 },
    { seq: 3, ts: NOW, lat: 52.5, lng: 13.4, acc: TINY_REAL, speed: TINY_REAL, heading: TINY_REAL },
  ];
  for (const p of extremes) {
    t.ok(accepted(p), `accepted: ${JSON.stringify(p)}`);
    const stored = { ...p, acc: storedReal(p.acc), speed: storedReal(p.speed), heading: storedReal(p.heading), courierId: 'c1', serverTs: NOW };
    t.doesNotThrow(() => copyBinary([stored]), 'encoded for COPY without a PointDataError');
  }
  // and the encoder does refuse what a real cannot hold, were it ever to get there
  t.throws(() => copyBinary([{ ...base, speed: 1e-50, courierId: 'c1', serverTs: NOW }]), /does not fit a real/);
  t.throws(() => copyBinary([{ ...base, speed: 1e39, courierId: 'c1', serverTs: NOW }]), /does not fit a real/);
});
