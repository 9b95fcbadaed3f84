/**
 * The live courier location index in Redis, and the stream that feeds the history sink.
 *
 * Keys (all under the client's keyPrefix):
 * - `loc:courier:<id>`          hash: lat, lng, ts (device ms), sts (server ms), cell, status, seq (of the
 *                               current position), maxSeq (highest accepted seq, for duplicate detection),
 *                               ck (full key of the cell set holding the courier), win (the duplicate
 *                               window's digest, restored when the courier reconnects). Expires `ttlMs` after the
 *                               last point (personal data: never kept longer than the history retention).
 *                               Cell sets lose expired, stale and misplaced members lazily, when `nearby` meets them.
 * - `loc:cell:{<zone>}:<cell>`  set of courier ids whose current position is in <cell>. The zone (coarse
 *                               parent cell) is the hash tag so Redis Cluster keeps a zone's cells on one shard.
 * - `loc:stream`, `loc:stream:{<tag>}`  the history streams (history-streams.ts): accepted points, one entry
 *                               per flushed batch and stream (field `p`: packed points); a courier's points
 *                               always go to the same stream (HISTORY_STREAMS of them, `loc:stream` when 1).
 *
 * A flush is one Lua script call (location-scripts.ts), one round trip and atomic like MULTI: cell moves
 * happen with the hash update, and a flush that fails to reach Redis applies nothing, so the caller can
 * safely reject the whole batch.
 * On a Redis Cluster one flush touches many slots (each courier hash its own, the cell sets their zone's):
 * it is split by slot into three auto-pipelined batches instead (`writeSharded`, location-scripts.ts).
 */
import type { Redis } from 'ioredis';
import { FLUSH_LOCATIONS_LUA, PRUNE_CELL_MEMBERS_LUA, UPDATE_COURIER_LUA, ZONE_CELLS_LUA } from './location-scripts.js';
import { batch, batchValues, execChecked, RedisScript, type BatchCommand } from './batch.js';
import { isCluster, scanKeys } from './client.js';
import { redisKeys, tagOf } from './keys.js';
import { historyStreamIndex, historyStreamKeys, registerHistoryStreams, resolveHistoryStreams } from './history-streams.js';
import { cellOf, distanceM, ringGeometry, ringLowerBoundM, ringsAround, ringsToCover, zoneOf } from '../../domain/geo.js';
import type { LocationPoint } from '../../domain/location-filter.js';

/** The history stream of one-stream deployments (HISTORY_STREAMS = 1, the single-Redis default). */
export const LOCATION_STREAM = redisKeys.locationStream;

const UPDATE_COURIER = new RedisScript(UPDATE_COURIER_LUA);
const ZONE_CELLS = new RedisScript(ZONE_CELLS_LUA);

/** Cell sets read per SUNION when scanning an area (bounds one command's size). */
const CELLS_PER_COMMAND = 1000;

export const courierKey = redisKeys.courierLocation;
export const cellKey = (cell: string) => redisKeys.cell(zoneOf(cell), cell);

/** One accepted point, as written to the stream and later to Postgres. */
export interface StoredPoint extends LocationPoint {
  readonly courierId: string;
  /** Server time when the point was accepted, epoch ms. */
  readonly serverTs: number;
}

/** What one flush changes for one courier: its last accepted point and, if it moved, the new position. */
export interface CourierUpdate {
  readonly courierId: string;
  readonly serverTs: number;
  /** Highest seq accepted so far (after this batch). */
  readonly maxSeq: number;
  /** The new current position, when this batch moved it forward in time. */
  readonly current?: { seq: number; ts: number; lat: number; lng: number; cell: string; acc?: number };
  /** The cell the courier was in before this batch (null: unknown or never indexed). */
  readonly previousCell: string | null;
  /** The duplicate window after this batch (CourierTrack.windowDigest); omitted: keep the stored one. */
  readonly window?: string;
}

export interface CourierLocation {
  courierId: string;
  lat: number;
  lng: number;
  /** Device time of the current position. */
  ts: number;
  /** Server time of the last accepted point: drives staleness. */
  serverTs: number;
  cell: string;
  status: string;
  seq: number;
  maxSeq: number;
  /** The duplicate window's digest (only read by `get`: a reconnecting courier's track). */
  window?: string | null;
}

export interface NearbyCourier extends CourierLocation {
  distanceM: number;
}

const FIELDS = ['lat', 'lng', 'ts', 'sts', 'cell', 'status', 'seq', 'maxSeq'] as const;

function parseLocation(courierId: string, values: (string | null)[]): CourierLocation | null {
  const [lat, lng, ts, sts, cell, status, seq, maxSeq] = values;
  if (lat === null || lng === null || cell === null) return null;
  return {
    courierId,
    lat: Number(lat),
    lng: Number(lng),
    ts: Number(ts),
    serverTs: Number(sts),
    cell,
    status: status ?? 'idle',
    seq: Number(seq),
    maxSeq: maxSeq === null ? Number(seq) : Number(maxSeq),
  };
}

/** Escapes Redis glob characters so a key prefix matches literally in SCAN MATCH. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/** Packs points compactly for the stream: one entry per batch keeps XADD off the per-point path. */
export function packPoints(points: readonly StoredPoint[]): string {
  return JSON.stringify(
    points.map((p) => [p.courierId, p.seq, p.ts, p.lat, p.lng, p.acc ?? null, p.speed ?? null, p.heading ?? null, p.serverTs]),
  );
}

export function unpackPoints(packed: string): StoredPoint[] {
  const rows = JSON.parse(packed) as [string, number, number, number, number, number | null, number | null, number | null, number][];
  return rows.map(([courierId, seq, ts, lat, lng, acc, speed, heading, serverTs]) => ({
    courierId,
    seq,
    ts,
    lat,
    lng,
    ...(acc === null ? {} : { acc }),
    ...(speed === null ? {} : { speed }),
    ...(heading === null ? {} : { heading }),
    serverTs,
  }));
}

export interface NearbyQuery {
  lat: number;
  lng: number;
  radiusM: number;
  limit: number;
  /** Couriers whose last point is older than now − staleAfterMs are left out. */
  now: number;
  staleAfterMs: number;
}

/** The client with the index's scripts registered (ioredis: EVALSHA, falling back to EVAL once). */
type ScriptedRedis = Redis & {
  flushLocations(numKeys: number, ...keysAndArgs: (string | number)[]): Promise<number>;
  pruneCellMembers(numKeys: number, ...keysAndArgs: (string | number)[]): Promise<number>;
};

export interface LocationIndexOptions {
  /** How long a courier's hash outlives its last point: at least the stale time, at most the retention. */
  ttlMs?: number;
  /** History streams the points are spread over (HISTORY_STREAMS; 0 or omitted: 1 on one Redis, 16 on a cluster). */
  historyStreams?: number;
}

/** Default hash lifetime: a day without points (callers pass one clamped to their stale time and retention). */
export const DEFAULT_LOCATION_TTL_MS = 86_400_000;

/** A day, but never shorter than the stale time nor longer than the history retention. */
export function locationTtlMs(staleAfterMs: number, retentionMs: number): number {
  return Math.min(retentionMs, Math.max(staleAfterMs, DEFAULT_LOCATION_TTL_MS));
}

/**
 * One courier's row of the flush scripts' JSON argument (location-scripts.ts): `M` with the new position
 * and the cell move (0 none, 1 first cell, 2 from the previous cell), or `T` when only the touch fields
 * change. Numbers travel as strings so Redis stores them exactly.
 */
function scriptRow(u: CourierUpdate, move: '0' | '1' | '2'): string[] {
  const c = u.current;
  if (!c) return ['T', u.courierId, String(u.serverTs), String(u.maxSeq), u.window ?? ''];
  return ['M', u.courierId, String(u.serverTs), String(u.maxSeq), String(c.lat), String(c.lng), String(c.ts), c.cell, String(c.seq), move, u.window ?? ''];
}

export class LocationIndex {
  readonly ttlMs: number;
  /** On a Redis Cluster: flush and prune split by hash slot (location-scripts.ts). */
  private readonly sharded: boolean;
  /** cell → its set key (zoneOf is an H3 call: the hot path computes it once per cell, not per update). */
  private readonly cellKeys = new Map<string, string>();
  /** The history stream keys (history-streams.ts), one for most single-Redis deployments. */
  readonly streams: readonly string[];
  /** `loc:streams` registration of `streams`, done once before the first XADD (retried if it failed). */
  private registered: Promise<void> | null = null;

  constructor(
    private readonly redis: Redis,
    readonly resolution: number,
    opts: LocationIndexOptions = {},
  ) {
    this.ttlMs = Math.max(1, Math.round(opts.ttlMs ?? DEFAULT_LOCATION_TTL_MS));
    const scripted = redis as unknown as Partial<ScriptedRedis>;
    if (!scripted.flushLocations) redis.defineCommand('flushLocations', { lua: FLUSH_LOCATIONS_LUA });
    if (!scripted.pruneCellMembers) redis.defineCommand('pruneCellMembers', { lua: PRUNE_CELL_MEMBERS_LUA });
    this.sharded = isCluster(redis);
    this.streams = historyStreamKeys(resolveHistoryStreams(opts.historyStreams ?? 0, this.sharded));
  }

  /** Registers the streams once (so every sink reads them) before anything is appended to them. */
  private register(): Promise<void> {
    if (this.streams.length === 1 && this.streams[0] === LOCATION_STREAM) return Promise.resolve();
    this.registered ??= registerHistoryStreams(this.redis, this.streams).catch((err: unknown) => {
      this.registered = null;
      throw err;
    });
    return this.registered;
  }

  /** The batch's points per history stream, each courier's in the order given (one packed entry each). */
  private pointsByStream(points: readonly StoredPoint[]): [stream: string, packed: string][] {
    if (points.length === 0) return [];
    const n = this.streams.length;
    if (n === 1) return [[this.streams[0], packPoints(points)]];
    const groups = new Map<number, StoredPoint[]>();
    for (const p of points) {
      const k = historyStreamIndex(p.courierId, n);
      let list = groups.get(k);
      if (!list) groups.set(k, (list = []));
      list.push(p);
    }
    return [...groups].map(([k, list]) => [this.streams[k], packPoints(list)]);
  }

  private cellKey(cell: string): string {
    let key = this.cellKeys.get(cell);
    if (key === undefined) {
      if (this.cellKeys.size >= 200_000) this.cellKeys.clear();
      key = cellKey(cell);
      this.cellKeys.set(cell, key);
    }
    return key;
  }

  cellOf(lat: number, lng: number): string {
    return cellOf(lat, lng, this.resolution);
  }

  /**
   * Writes one batch in one round trip: every courier's hash, the cell moves, and one stream entry per
   * history stream touched. Resolves only when Redis has applied all of it; rejects and applies nothing
   * otherwise.
   */
  async write(updates: readonly CourierUpdate[], points: readonly StoredPoint[]): Promise<void> {
    if (updates.length === 0 && points.length === 0) return;
    const entries = this.pointsByStream(points);
    if (entries.length) await this.register();
    if (this.sharded) return this.writeSharded(updates, entries);
    const keys: string[] = entries.map(([stream]) => stream);
    // One JSON argument for all couriers (see location-scripts.ts); numbers as strings, exact in Redis.
    const rows: string[][] = new Array(updates.length);
    for (let i = 0; i < updates.length; i++) {
      const u = updates[i];
      const hash = courierKey(u.courierId);
      const c = u.current;
      if (c) {
        const move = c.cell === u.previousCell ? '0' : u.previousCell === null ? '1' : '2';
        keys.push(hash, this.cellKey(c.cell));
        if (move === '2') keys.push(this.cellKey(u.previousCell!));
        rows[i] = scriptRow(u, move);
      } else {
        keys.push(hash);
        rows[i] = scriptRow(u, '0');
      }
    }
    const args: (string | number)[] = [JSON.stringify(rows), this.ttlMs, ...entries.map(([, packed]) => packed)];
    await (this.redis as ScriptedRedis).flushLocations(keys.length, ...keys, ...args);
  }

  /**
   * `write` on a Redis Cluster: streams first, then couriers' hashes with the cell joins, then the leaves,
   * each step one auto-pipelined batch (one pipeline per node). Not atomic across slots: a failure part-way
   * rejects the whole batch to the client, whose retry is stored once (location-scripts.ts explains why).
   */
  private async writeSharded(updates: readonly CourierUpdate[], entries: readonly [string, string][]): Promise<void> {
    const r = this.redis;
    if (entries.length) await Promise.all(entries.map(([stream, packed]) => r.xadd(stream, '*', 'p', packed)));
    if (updates.length === 0) return;
    const prefix = this.redis.options.keyPrefix ?? '';
    const joins = new Map<string, { keys: string[]; ids: string[] }>();
    const courierWrites: Promise<unknown>[] = [];
    for (const u of updates) {
      const c = u.current;
      let newSet = '';
      if (c) {
        const key = this.cellKey(c.cell);
        newSet = prefix + key;
        addTo(joins, tagOf(key) ?? '', key, u.courierId);
      }
      // the cell moves are done by ZONE_CELLS here, so the row never asks the script to move ('0')
      courierWrites.push(UPDATE_COURIER.run(r, [courierKey(u.courierId)], [JSON.stringify(scriptRow(u, '0')), this.ttlMs, newSet]));
    }
    const joined = [...joins.values()].map((z) => ZONE_CELLS.run(r, z.keys, ['A', this.ttlMs, ...z.ids]));
    const [olds] = await Promise.all([Promise.all(courierWrites), Promise.all(joined)]);
    const leaves = new Map<string, { keys: string[]; ids: string[] }>();
    olds.forEach((result, i) => {
      const old = result as string;
      if (!old) return;
      const key = old.startsWith(prefix) ? old.slice(prefix.length) : old;
      addTo(leaves, tagOf(key) ?? '', key, updates[i].courierId);
    });
    await Promise.all([...leaves.values()].map((z) => ZONE_CELLS.run(r, z.keys, ['R', this.ttlMs, ...z.ids])));
  }

  /** A courier's status starts as 'idle' when first seen; other features change it. */
  async ensureStatus(courierId: string, status = 'idle'): Promise<void> {
    const key = courierKey(courierId);
    // A hash created here (no point yet) expires too; one with a TTL keeps it.
    await execChecked(this.redis.multi().hsetnx(key, 'status', status).pexpire(key, this.ttlMs, 'NX'));
  }

  async get(courierId: string): Promise<CourierLocation | null> {
    const values = await this.redis.hmget(courierKey(courierId), ...FIELDS, 'win');
    const loc = parseLocation(courierId, values);
    if (loc) loc.window = values[FIELDS.length];
    return loc;
  }

  /**
   * Every indexed courier (SCAN over `loc:courier:*`, then pipelined HMGETs), at most `limit` of them, in
   * no particular order: for overviews such as the dispatcher console, not for the hot path. SCAN
   * patterns are not rewritten by ioredis' keyPrefix, so the prefix is added here and stripped again.
   */
  async list(limit: number): Promise<CourierLocation[]> {
    const prefix = this.redis.options.keyPrefix ?? '';
    const head = `${prefix}${courierKey('')}`;
    const ids = new Set<string>();
    // on a cluster, every master's keyspace in turn
    for await (const keys of scanKeys(this.redis, `${escapeGlob(head)}*`)) {
      for (const key of keys) {
        if (ids.size >= limit) break;
        ids.add(key.slice(head.length));
      }
      if (ids.size >= limit) break;
    }
    return [...(await this.getMany([...ids])).values()];
  }

  /**
   * Couriers within radiusM of (lat, lng), nearest first, stale ones excluded. Expands H3 rings around the
   * point and stops as soon as the next ring cannot hold anything closer than what was found.
   */
  async nearby(q: NearbyQuery): Promise<NearbyCourier[]> {
    const origin = this.cellOf(q.lat, q.lng);
    const geom = ringGeometry(origin);
    const maxK = ringsToCover(geom, q.radiusM);
    const rings = ringsAround(origin, maxK);
    const here = { lat: q.lat, lng: q.lng };
    const found = new Map<string, NearbyCourier>();
    const seen = new Set<string>();
    const loaded = new Map<string, CourierLocation>();
    const prune: { cell: string; courierId: string }[] = [];
    const cutoff = q.now - q.staleAfterMs;
    let k = 0;
    let step = 1;
    while (k <= maxK) {
      const last = Math.min(maxK, k + step - 1);
      const cells = rings.slice(k, last + 1).flat();
      const members = await this.membersOf(cells);
      const fresh: string[] = [];
      for (const m of members) {
        if (!seen.has(m.courierId)) {
          seen.add(m.courierId);
          fresh.push(m.courierId);
        }
      }
      const locs = await this.getMany(fresh);
      for (const [id, loc] of locs) loaded.set(id, loc);
      for (const m of members) {
        const loc = loaded.get(m.courierId);
        if (!loc || loc.serverTs < cutoff || loc.cell !== m.cell) prune.push(m);
      }
      for (const loc of locs.values()) {
        if (q.now - loc.serverTs > q.staleAfterMs) continue;
        const d = distanceM(here, loc);
        if (d <= q.radiusM) found.set(loc.courierId, { ...loc, distanceM: d });
      }
      k = last + 1;
      step *= 2;
      if (k > maxK) break;
      // Everything in ring k and beyond is at least this far away: stop once the nearest `limit` are closer.
      const bound = ringLowerBoundM(geom, k);
      if (found.size >= q.limit) {
        const kth = [...found.values()].map((c) => c.distanceM).sort((a, b) => a - b)[q.limit - 1];
        if (kth <= bound) break;
      }
    }
    if (prune.length) await this.pruneMembers(prune, cutoff);
    return [...found.values()]
      .sort((a, b) => a.distanceM - b.distanceM || (a.courierId < b.courierId ? -1 : 1))
      .slice(0, q.limit);
  }

  /**
   * Every fresh courier whose current cell is one of `cells` (a dispatch round's neighbourhood, often tens
   * of thousands of mostly empty cells), in id order. The cell sets are read with SUNION, many sets per
   * command and grouped by zone (one hash slot per command on Redis Cluster); members that are stale or
   * moved on are left for `nearby` and the hash TTL to clean up.
   */
  async inCells(cells: readonly string[], now: number, staleAfterMs: number): Promise<CourierLocation[]> {
    const byZone = new Map<string, string[]>();
    for (const cell of cells) {
      const key = this.cellKey(cell);
      const zone = key.slice(key.indexOf('{') + 1, key.indexOf('}'));
      let list = byZone.get(zone);
      if (!list) byZone.set(zone, (list = []));
      list.push(key);
    }
    const commands: BatchCommand[] = [];
    for (const keys of byZone.values()) {
      for (let i = 0; i < keys.length; i += CELLS_PER_COMMAND) commands.push(['sunion', ...keys.slice(i, i + CELLS_PER_COMMAND)]);
    }
    const ids = new Set<string>();
    for (const members of await batchValues(this.redis, commands)) {
      for (const id of members as string[]) ids.add(id);
    }
    const wanted = new Set(cells);
    const cutoff = now - staleAfterMs;
    const out: CourierLocation[] = [];
    for (const loc of (await this.getMany([...ids])).values()) {
      if (loc.serverTs >= cutoff && wanted.has(loc.cell)) out.push(loc);
    }
    return out.sort((a, b) => (a.courierId < b.courierId ? -1 : a.courierId > b.courierId ? 1 : 0));
  }

  /** Takes members out of cell sets where they no longer belong (checked again atomically in Redis). */
  private async pruneMembers(members: { cell: string; courierId: string }[], cutoff: number): Promise<void> {
    if (this.sharded) return this.pruneSharded(members, cutoff);
    const keys: string[] = [];
    const args: (string | number)[] = [cutoff];
    for (const m of members) {
      keys.push(this.cellKey(m.cell), courierKey(m.courierId));
      args.push(m.courierId, m.cell);
    }
    await (this.redis as ScriptedRedis).pruneCellMembers(keys.length, ...keys, ...args);
  }

  /**
   * `pruneMembers` on a Redis Cluster, where a cell set and a courier hash lie in different slots: the hash
   * is read again, then the members still misplaced leave (per zone, one script). A courier that moves
   * back in between is removed wrongly and comes back with its next point, as a stale one does.
   */
  private async pruneSharded(members: { cell: string; courierId: string }[], cutoff: number): Promise<void> {
    const values = await batchValues(this.redis, members.map((m) => ['hmget', courierKey(m.courierId), 'sts', 'cell'] as const));
    const leaves = new Map<string, { keys: string[]; ids: string[] }>();
    members.forEach((m, i) => {
      const [sts, cell] = values[i] as (string | null)[];
      if (sts !== null && Number(sts) >= cutoff && cell === m.cell) return;
      const key = this.cellKey(m.cell);
      addTo(leaves, tagOf(key) ?? '', key, m.courierId);
    });
    await Promise.all([...leaves.values()].map((z) => ZONE_CELLS.run(this.redis, z.keys, ['R', this.ttlMs, ...z.ids])));
  }

  private async membersOf(cells: string[]): Promise<{ cell: string; courierId: string }[]> {
    if (cells.length === 0) return [];
    const results = await batchValues(this.redis, cells.map((cell) => ['smembers', this.cellKey(cell)] as const));
    const out: { cell: string; courierId: string }[] = [];
    results.forEach((ids, i) => {
      for (const courierId of ids as string[]) out.push({ cell: cells[i], courierId });
    });
    return out;
  }

  private async getMany(ids: string[]): Promise<Map<string, CourierLocation>> {
    const out = new Map<string, CourierLocation>();
    if (ids.length === 0) return out;
    const results = await batch(this.redis, ids.map((id) => ['hmget', courierKey(id), ...FIELDS] as const));
    results.forEach(([err, values], i) => {
      if (err) throw err;
      const loc = parseLocation(ids[i], values as (string | null)[]);
      if (loc) out.set(ids[i], loc);
    });
    return out;
  }
}

/** Groups (key, id) pairs by the keys' zone tag: one script call per zone. */
function addTo(groups: Map<string, { keys: string[]; ids: string[] }>, zone: string, key: string, id: string): void {
  let g = groups.get(zone);
  if (!g) groups.set(zone, (g = { keys: [], ids: [] }));
  g.keys.push(key);
  g.ids.push(id);
}
