/**
 * Courier availability in Redis: whether a dispatcher paused the courier, and the shift the courier
 * declared (end of shift, capacity).
 *
 * Keys (under the client's keyPrefix):
 * - `courier-paused:<id>`  "1" while the courier is paused (no new offers); absent otherwise. Other
 *                          features (order overrides) read exactly this key.
 * - `courier-shift:<id>`   hash: endsAt (epoch ms, service clock), capacity (units, optional). Expires a
 *                          day (wall clock) after the last `shift` frame: a shift is never longer.
 */
import type { Redis } from 'ioredis';
import { batchValues, execChecked } from './batch.js';
import { redisKeys } from './keys.js';

export const pausedKey = redisKeys.courierPaused;
export const shiftKey = redisKeys.courierShift;

const SHIFT_TTL_MS = 86_400_000;

export interface CourierShift {
  /** No pickup after this instant (epoch ms, service clock). */
  readonly endsAt: number;
  readonly capacity?: number;
}

export class CourierAvailabilityStore {
  constructor(private readonly redis: Redis) {}

  async pause(courierId: string): Promise<void> {
    await this.redis.set(pausedKey(courierId), '1');
  }

  async resume(courierId: string): Promise<void> {
    await this.redis.del(pausedKey(courierId));
  }

  async isPaused(courierId: string): Promise<boolean> {
    return (await this.redis.get(pausedKey(courierId))) === '1';
  }

  /** The paused ones among `ids` (one round trip). */
  async pausedAmong(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    // one GET per courier in one batch, not MGET: on a cluster the keys lie in many slots
    const values = await batchValues(this.redis, ids.map((id) => ['get', pausedKey(id)] as const));
    return new Set(ids.filter((_, i) => values[i] === '1'));
  }

  async setShift(courierId: string, shift: CourierShift): Promise<void> {
    const key = shiftKey(courierId);
    const fields: Record<string, string> = { endsAt: String(shift.endsAt) };
    const multi = this.redis.multi().del(key);
    if (shift.capacity !== undefined) fields.capacity = String(shift.capacity);
    await execChecked(multi.hset(key, fields).pexpire(key, SHIFT_TTL_MS));
  }

  /** Declared shifts of `ids` (couriers without one are absent from the map). */
  async shifts(ids: readonly string[]): Promise<Map<string, CourierShift>> {
    const out = new Map<string, CourierShift>();
    if (ids.length === 0) return out;
    const results = await batchValues(this.redis, ids.map((id) => ['hmget', shiftKey(id), 'endsAt', 'capacity'] as const));
    results.forEach((values, i) => {
      const [endsAt, capacity] = values as (string | null)[];
      if (endsAt === null) return;
      out.set(ids[i]!, { endsAt: Number(endsAt), ...(capacity === null ? {} : { capacity: Number(capacity) }) });
    });
    return out;
  }
}
