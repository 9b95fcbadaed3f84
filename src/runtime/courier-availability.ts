/**
 * Courier availability as the rest of the service sees it: paused by a dispatcher, online (a fresh
 * position on the service clock), and the shift the courier declared. Decorated as
 * `app.couriersAvailability`; the order overrides ask it before assigning work, and the dispatch loop
 * reads the same Redis keys (CourierAvailabilityStore) for a whole round at once.
 */
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../clock.js';
import { courierKey, type LocationIndex } from '../store/redis/location-index.js';
import { CourierAvailabilityStore, pausedKey, type CourierShift } from '../store/redis/courier-availability.js';
import type { Redis } from 'ioredis';
import { batchValues } from '../store/redis/batch.js';

export class CourierAvailability {
  readonly store: CourierAvailabilityStore;

  constructor(
    private readonly redis: Redis,
    private readonly index: LocationIndex,
    private readonly clock: Clock,
    private readonly staleAfterMs: number,
    readonly defaultCapacity: number,
  ) {
    this.store = new CourierAvailabilityStore(redis);
  }

  isPaused(courierId: string): Promise<boolean> {
    return this.store.isPaused(courierId);
  }

  /** Online = a position accepted within STALE_AFTER_MS of the service clock. */
  async isOnline(courierId: string): Promise<boolean> {
    const loc = await this.index.get(courierId);
    return loc !== null && this.clock.now() - loc.serverTs <= this.staleAfterMs;
  }

  /** Known = it connected or sent a position (its location hash lives), or it is paused. */
  async isKnown(courierId: string): Promise<boolean> {
    // two EXISTS, not one over both keys: on a Redis Cluster they lie in different slots
    const [loc, paused] = (await batchValues(this.redis, [
      ['exists', courierKey(courierId)],
      ['exists', pausedKey(courierId)],
    ])) as number[];
    return loc + paused > 0;
  }

  pause(courierId: string): Promise<void> {
    return this.store.pause(courierId);
  }

  resume(courierId: string): Promise<void> {
    return this.store.resume(courierId);
  }

  setShift(courierId: string, shift: CourierShift): Promise<void> {
    return this.store.setShift(courierId, shift);
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    couriersAvailability: CourierAvailability;
  }
}

export const courierAvailability = fp(
  async function courierAvailability(app: FastifyInstance) {
    const { config } = app;
    app.decorate(
      'couriersAvailability',
      new CourierAvailability(app.redis, app.locationIndex, app.clock, config.staleAfterMs, config.courierCapacity),
    );
  },
  { name: 'dispatchd-courier-availability', fastify: '5.x', dependencies: ['dispatchd-core', 'dispatchd-courier-socket'] },
);
