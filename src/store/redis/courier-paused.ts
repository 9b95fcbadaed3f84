/**
 * Whether a dispatcher paused a courier (no new work until resumed). The pause/resume routes write
 * the key; this side only reads it, so the override checks work whichever plugin owns the writes.
 * Key: `courier-paused:<courierId>` (under the deployment's key prefix), value '1' while paused.
 */
import type { Redis } from 'ioredis';
import { redisKeys } from './keys.js';

export const courierPausedKey = redisKeys.courierPaused;

export async function courierPaused(redis: Pick<Redis, 'get'>, courierId: string): Promise<boolean> {
  return (await redis.get(courierPausedKey(courierId))) === '1';
}
