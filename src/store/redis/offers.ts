/**
 * Live offer state in Redis: the offer as sent to the courier (so a reconnecting courier gets it again
 * from any node), the courier's current offer, and one due-time schedule shared by all nodes.
 *
 * Postgres decides who wins (the offers row moves out of 'open' exactly once, see runtime/offers.ts);
 * Redis only answers "what is open" fast and makes sure exactly one node handles each expiry: an
 * expiry is claimed with ZREM, which only one caller can win.
 */
import type { Redis } from 'ioredis';
import { writeTogether } from './batch.js';
import { redisKeys } from './keys.js';

export interface OfferStop {
  readonly kind: 'pickup' | 'dropoff';
  readonly orderIds: readonly string[];
  readonly lat: number;
  readonly lng: number;
  readonly address?: string;
  /** Estimated arrival and service instant, epoch ms. */
  readonly eta: number;
}

export interface LiveOffer {
  readonly offerId: string;
  readonly courierId: string;
  readonly orderIds: readonly string[];
  /** What the courier needs to decide: pickup, drop-off, items, ready and promised times (no PIN). */
  readonly orders: readonly Record<string, unknown>[];
  readonly stops: readonly OfferStop[];
  readonly createdAt: number;
  readonly expiresAt: number;
}

const DUE = redisKeys.offersDue;
/** Keep the offer body a while after expiry so late answers get a precise "expired" instead of "unknown". */
const KEEP_AFTER_EXPIRY_MS = 3_600_000;

// KEYS[1] courier pointer; ARGV[1] offer id. Deletes the pointer only if it still names this offer.
const CLEAR_POINTER_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

export class RedisOfferState {
  constructor(private readonly redis: Redis) {}

  private offerKey(id: string) {
    return redisKeys.offer(id);
  }
  private pointerKey(courierId: string) {
    return redisKeys.courierOffer(courierId);
  }

  async save(offer: LiveOffer, now: number): Promise<void> {
    const ttl = Math.max(1, offer.expiresAt - now + KEEP_AFTER_EXPIRY_MS);
    // One MULTI on one Redis. On a cluster the three keys lie in three slots: written in this order, a
    // failure part-way leaves an offer body nobody points to (expires) or a pointer to an offer without
    // a due time (openForCourier ignores it): never an expiry for an offer that cannot be read.
    await writeTogether(this.redis, [
      ['set', this.offerKey(offer.offerId), JSON.stringify(offer), 'PX', ttl],
      ['set', this.pointerKey(offer.courierId), offer.offerId, 'PX', ttl],
      ['zadd', DUE, offer.expiresAt, offer.offerId],
    ]);
  }

  async get(offerId: string): Promise<LiveOffer | null> {
    const raw = await this.redis.get(this.offerKey(offerId));
    return raw ? (JSON.parse(raw) as LiveOffer) : null;
  }

  /** The offer currently waiting for this courier's answer, if any. */
  async openForCourier(courierId: string): Promise<LiveOffer | null> {
    const id = await this.redis.get(this.pointerKey(courierId));
    if (!id) return null;
    if ((await this.redis.zscore(DUE, id)) === null) return null; // already resolved
    return this.get(id);
  }

  /** The offer is answered (accepted, rejected, withdrawn): no expiry, not open any more. */
  async resolve(offer: { offerId: string; courierId: string }): Promise<void> {
    await this.redis.zrem(DUE, offer.offerId);
    await this.redis.eval(CLEAR_POINTER_LUA, 1, this.pointerKey(offer.courierId), offer.offerId);
  }

  /** True for exactly one caller across all nodes: that one handles the expiry. */
  async claimExpiry(offerId: string): Promise<boolean> {
    return (await this.redis.zrem(DUE, offerId)) === 1;
  }

  /** Offers whose expiry is due by `now` (not yet claimed). */
  async due(now: number, limit = 100): Promise<string[]> {
    return this.redis.zrangebyscore(DUE, 0, now, 'LIMIT', 0, limit);
  }

  async clearPointer(courierId: string, offerId: string): Promise<void> {
    await this.redis.eval(CLEAR_POINTER_LUA, 1, this.pointerKey(courierId), offerId);
  }
}
