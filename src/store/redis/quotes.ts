/**
 * Quotes in Redis, one JSON string per quote (`quote:{id}`). Kept for twice the quote's validity (wall
 * time), so a late order gets `quote_expired` rather than `quote_not_found`; expiry itself is decided
 * on the service clock against `expiresAt`.
 */
import type { Redis } from 'ioredis';
import { redisKeys } from './keys.js';
import type { Quote } from '../../domain/quote.js';

const key = redisKeys.quote;

export class RedisQuoteStore {
  constructor(
    private readonly redis: Redis,
    /** Wall ms a quote is kept. */
    private readonly keepMs: number,
  ) {}

  async put(quote: Quote): Promise<void> {
    await this.redis.set(key(quote.quoteId), JSON.stringify(quote), 'PX', this.keepMs);
  }

  async get(id: string): Promise<Quote | null> {
    const raw = await this.redis.get(key(id));
    return raw ? (JSON.parse(raw) as Quote) : null;
  }
}
