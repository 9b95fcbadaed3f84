/**
 * The open-order pool in Redis, per zone: what the next dispatch round of that zone snapshots.
 *
 * Keys carry the zone as a hash tag (`open:{zone}`), so Redis Cluster keeps a zone on one shard and a
 * snapshot is one HGETALL. Writes happen after the Postgres commit and may arrive out of order
 * (two changes of one order synced by different requests), so each write carries the order version
 * and a Lua script applies it only when it is newer than what the pool has seen. Postgres stays the
 * record: `rebuild` re-creates the pool from it after Redis lost its state.
 */
import type { Redis } from 'ioredis';
import { redisKeys } from './keys.js';
import { execChecked } from './batch.js';
import type { OrderRequest } from '../../dispatch/types.js';
import type { Order } from '../../domain/order.js';
import { OPEN_STATUSES } from '../../domain/order.js';

/** What the optimizer needs of an open order (times epoch ms). */
export interface OpenOrderEntry {
  readonly id: string;
  readonly storeId: string;
  readonly version: number;
  readonly pickup: { lat: number; lng: number };
  readonly dropoff: { lat: number; lng: number };
  readonly placedAt: number;
  readonly readyAt: number;
  readonly readyKnown: boolean;
  readonly option: Order['option'];
  readonly promisedBy: number;
  readonly window: { from: number; to: number } | null;
  readonly size: number;
  /** Couriers who rejected or let an offer expire: never offer to them again. */
  readonly declinedBy: readonly string[];
  /** 0..10, higher is more urgent (dispatcher override). Entries written before it existed lack it: 0. */
  readonly priority?: number;
  /**
   * Only if a pinned order is ever open (it should not be: a pin assigns it): the optimizer must give
   * it to this courier and nobody else.
   */
  readonly pinnedCourierId?: string;
}

// KEYS[1] entries hash, KEYS[2] versions hash (one zone: one hash slot); ARGV: id, version, json ('' = remove)
const SYNC_LUA = `
local seen = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
local v = tonumber(ARGV[2])
if v <= seen then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], v)
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
end
return 1
`;

// KEYS[1] entries hash, KEYS[2] versions hash; ARGV: id, version. Deletes the version only if it is
// still a tombstone (not in the pool) of exactly that version, so a newer write is never forgotten.
const PRUNE_LUA = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
`;

export function openOrderEntry(o: Order): OpenOrderEntry {
  return {
    id: o.id,
    storeId: o.storeId,
    version: o.version,
    pickup: { lat: o.pickup.lat, lng: o.pickup.lng },
    dropoff: { lat: o.dropoff.lat, lng: o.dropoff.lng },
    placedAt: o.placedAt,
    readyAt: o.readyAt,
    readyKnown: o.readyKnown,
    option: o.option,
    promisedBy: o.promisedBy,
    window: o.window,
    size: o.size,
    declinedBy: o.declinedBy,
    priority: o.priority,
    ...(o.pinned && o.courierId ? { pinnedCourierId: o.courierId } : {}),
  };
}

/**
 * The optimizer's view of an open order (dispatch/types.ts: times in epoch seconds on the live
 * service's timeline). The pickup id is the store: orders of one store may be bundled.
 */
export function toOrderRequest(e: OpenOrderEntry): OrderRequest<{ lat: number; lng: number }> {
  const s = (ms: number) => Math.floor(ms / 1000);
  return {
    id: e.id,
    pickupId: e.storeId,
    pickup: e.pickup,
    dropoff: e.dropoff,
    placedAt: s(e.placedAt),
    readyAt: s(e.readyAt),
    readyKnown: e.readyKnown,
    option: e.option,
    promisedBy: s(e.promisedBy),
    ...(e.window ? { window: { from: s(e.window.from), to: s(e.window.to) } } : {}),
    size: e.size,
    declinedBy: e.declinedBy,
    priority: e.priority ?? 0,
    ...(e.pinnedCourierId ? { pinnedCourierId: e.pinnedCourierId } : {}),
  };
}

export class OpenOrderPool {
  constructor(private readonly redis: Redis) {}

  private keys(zone: string): [string, string] {
    return [redisKeys.openOrders(zone), redisKeys.openOrderVersions(zone)];
  }

  /** Puts the order in its zone's pool when it is open, takes it out otherwise; stale versions are ignored. */
  async sync(zone: string, order: Order): Promise<boolean> {
    const open = OPEN_STATUSES.includes(order.status);
    const json = open ? JSON.stringify(openOrderEntry(order)) : '';
    // The zone list is another slot than the zone's pool: listed first (a listed zone without orders costs
    // one empty snapshot; an order in an unlisted zone would never be dispatched).
    if (open) await this.redis.sadd(redisKeys.openZones, zone);
    const applied = await this.redis.eval(SYNC_LUA, 2, ...this.keys(zone), order.id, order.version, json);
    return applied === 1;
  }

  /** Everything open in a zone right now (a dispatch round's input). */
  async snapshot(zone: string): Promise<OpenOrderEntry[]> {
    const all = await this.redis.hvals(this.keys(zone)[0]);
    return all.map((s) => JSON.parse(s) as OpenOrderEntry).sort((a, b) => a.placedAt - b.placedAt || a.id.localeCompare(b.id));
  }

  /** How many orders are open in a zone (without reading them). */
  async count(zone: string): Promise<number> {
    return this.redis.hlen(this.keys(zone)[0]);
  }

  /** Zones that have had open orders (a round over an empty zone is cheap). */
  async zones(): Promise<string[]> {
    return (await this.redis.smembers(redisKeys.openZones)).sort();
  }

  /** Re-creates the pool from the durable record. */
  async rebuild(entries: readonly { zone: string; order: Order }[]): Promise<void> {
    for (const { zone, order } of entries) await this.sync(zone, order);
  }

  /** Ids currently in a zone's pool (what a reconcile compares with Postgres). */
  async ids(zone: string): Promise<string[]> {
    return this.redis.hkeys(this.keys(zone)[0]);
  }

  /**
   * Versions remembered for orders that are not in the pool (tombstones: they keep a late, older write
   * from putting an order back). They would grow forever; `pruneTombstone` forgets one.
   */
  async tombstones(zone: string): Promise<Map<string, number>> {
    const [entries, versions] = this.keys(zone);
    const [all, present] = await Promise.all([this.redis.hgetall(versions), this.redis.hkeys(entries)]);
    const inPool = new Set(present);
    const out = new Map<string, number>();
    for (const [id, v] of Object.entries(all)) if (!inPool.has(id)) out.set(id, Number(v));
    return out;
  }

  /** Forgets a tombstone, only if it still is one of exactly `version`. */
  async pruneTombstone(zone: string, orderId: string, version: number): Promise<boolean> {
    return (await this.redis.eval(PRUNE_LUA, 2, ...this.keys(zone), orderId, version)) === 1;
  }

  /** Takes an order out no matter its version (it no longer exists in the durable record). */
  async drop(zone: string, orderId: string): Promise<void> {
    const [entries, versions] = this.keys(zone);
    await execChecked(this.redis.multi().hdel(entries, orderId).hdel(versions, orderId));
  }
}
