/**
 * Messages between nodes over Redis pub/sub: to a courier's socket wherever it is connected, to the
 * tracking sockets of an order, to a store's socket. One subscriber connection per process, channels
 * reference-counted so many local sockets can share one subscription.
 *
 * Pub/sub channels are not keys, so ioredis' keyPrefix does not apply: the prefix is added here so
 * deployments (and tests) sharing one Redis stay apart.
 *
 * On a Redis Cluster the bus uses sharded pub/sub (SPUBLISH / SSUBSCRIBE, Redis ≥ 7): a channel belongs
 * to the slot of its name, a message goes to that slot's shard only (plain PUBLISH is broadcast to every
 * node of the cluster), and ioredis keeps one subscriber connection per shard. Sharded channels are
 * treated as keys by ioredis, so there the key prefix is applied by the client, not here.
 */
import type { Redis } from 'ioredis';
import { duplicateRedis, isCluster } from './client.js';

export type MessageHandler = (message: unknown) => void;

export interface MessageBus {
  publish(channel: string, message: unknown): Promise<void>;
  /** Resolves once the subscription is active; returns the unsubscribe function. */
  subscribe(channel: string, handler: MessageHandler): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export const channels = {
  courier: (courierId: string) => `courier:${courierId}`,
  track: (orderId: string) => `track:${orderId}`,
  store: (storeId: string) => `store:${storeId}`,
};

export class RedisMessageBus implements MessageBus {
  private readonly sub: Redis;
  private readonly handlers = new Map<string, Set<MessageHandler>>();
  /** Per channel, the SUBSCRIBE every local subscriber waits for (not only the first one). */
  private readonly active = new Map<string, Promise<void>>();
  private readonly prefix: string;
  private readonly sharded: boolean;

  constructor(
    private readonly pub: Redis,
    onError: (err: unknown, channel: string) => void = () => {},
  ) {
    this.prefix = pub.options.keyPrefix ?? '';
    this.sharded = isCluster(pub);
    // a subscribed connection can do nothing else, hence a dedicated one
    this.sub = duplicateRedis(pub, this.sharded ? ({ lazyConnect: false, shardedSubscribers: true } as object) : { lazyConnect: false });
    this.sub.on('error', () => {});
    this.sub.on(this.sharded ? 'smessage' : 'message', (full: string, raw: string) => {
      const channel = full.slice(this.prefix.length);
      const set = this.handlers.get(channel);
      if (!set) return;
      let message: unknown;
      try {
        message = JSON.parse(raw);
      } catch (err) {
        onError(err, channel);
        return;
      }
      for (const h of set) {
        try {
          h(message);
        } catch (err) {
          onError(err, channel);
        }
      }
    });
  }

  async publish(channel: string, message: unknown): Promise<void> {
    if (this.sharded) await this.pub.spublish(channel, JSON.stringify(message));
    else await this.pub.publish(this.prefix + channel, JSON.stringify(message));
  }

  async subscribe(channel: string, handler: MessageHandler): Promise<() => Promise<void>> {
    let set = this.handlers.get(channel);
    let ready = this.active.get(channel);
    if (!set || !ready) {
      set = new Set();
      this.handlers.set(channel, set);
      const subscribed = (this.sharded ? this.sub.ssubscribe(channel) : this.sub.subscribe(this.prefix + channel)).then(() => undefined);
      ready = subscribed;
      this.active.set(channel, subscribed);
      // a failed SUBSCRIBE must not leave the channel looking active for later subscribers
      subscribed.catch(() => {
        if (this.active.get(channel) === subscribed) {
          this.active.delete(channel);
          this.handlers.delete(channel);
        }
      });
    }
    set.add(handler);
    // every subscriber, also the second one on a channel, resolves only once messages can arrive
    await ready;
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      const s = this.handlers.get(channel);
      if (!s) return;
      s.delete(handler);
      if (s.size === 0) {
        this.handlers.delete(channel);
        this.active.delete(channel);
        if (this.sub.status === 'ready') {
          if (this.sharded) await this.sub.sunsubscribe(channel);
          else await this.sub.unsubscribe(this.prefix + channel);
        }
      }
    };
  }

  async close(): Promise<void> {
    this.handlers.clear();
    this.active.clear();
    if (this.sub.status === 'end') return;
    try {
      await this.sub.quit();
    } catch {
      this.sub.disconnect();
    }
  }
}
