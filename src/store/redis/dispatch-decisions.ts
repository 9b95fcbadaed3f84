/**
 * The latest dispatch decision of each order in Redis: `dispatch-decision:<orderId>` (under the
 * deployment's key prefix) holds the decision as JSON, written once per round for all its orders in
 * one pipeline, expiring `ttlMs` after the last round that saw the order.
 */
import type { Redis } from 'ioredis';
import { batchValues } from './batch.js';
import { redisKeys } from './keys.js';
import type { DispatchDecision } from '../../dispatch/decisions.js';

export const decisionKey = redisKeys.decision;
/** An order no round has seen for a day has no "latest" decision worth showing. */
export const LATEST_DECISION_TTL_MS = 86_400_000;

export class LatestDecisions {
  constructor(
    private readonly redis: Redis,
    private readonly ttlMs = LATEST_DECISION_TTL_MS,
  ) {}

  async save(decisions: readonly DispatchDecision[]): Promise<void> {
    if (decisions.length === 0) return;
    await batchValues(this.redis, decisions.map((d) => ['set', decisionKey(d.orderId), JSON.stringify(d), 'PX', this.ttlMs] as const));
  }

  async get(orderId: string): Promise<DispatchDecision | null> {
    const raw = await this.redis.get(decisionKey(orderId));
    return raw ? (JSON.parse(raw) as DispatchDecision) : null;
  }

  /** Latest decisions of many orders (absent ones left out). */
  async many(orderIds: readonly string[]): Promise<Map<string, DispatchDecision>> {
    const out = new Map<string, DispatchDecision>();
    if (orderIds.length === 0) return out;
    // GETs in one batch rather than MGET: on a cluster the orders' keys lie in many slots
    const raws = (await batchValues(this.redis, orderIds.map((id) => ['get', decisionKey(id)] as const))) as (string | null)[];
    raws.forEach((raw, i) => {
      if (raw) out.set(orderIds[i], JSON.parse(raw) as DispatchDecision);
    });
    return out;
  }
}
