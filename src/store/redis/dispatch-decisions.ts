/**
 * The latest dispatch decision of each order in Redis: `dispatch-decision:<orderId>` (under the
 * deployment's key prefix) holds the decision as JSON, written once per round for all its orders in
 * one pipeline, expiring `ttlMs` after the last round that saw the order.
 */
import type { Redis } from 'ioredis';
import type { DispatchDecision } from '../../dispatch/decisions.js';

export const decisionKey = (orderId: string) => `dispatch-decision:${orderId}`;
/** An order no round has seen for a day has no "latest" decision worth showing. */
export const LATEST_DECISION_TTL_MS = 86_400_000;

export class LatestDecisions {
  constructor(
    private readonly redis: Redis,
    private readonly ttlMs = LATEST_DECISION_TTL_MS,
  ) {}

  async save(decisions: readonly DispatchDecision[]): Promise<void> {
    if (decisions.length === 0) return;
    const p = this.redis.pipeline();
    for (const d of decisions) p.set(decisionKey(d.orderId), JSON.stringify(d), 'PX', this.ttlMs);
    const results = await p.exec();
    const failed = results?.find(([err]) => err);
    if (failed) throw failed[0];
  }

  async get(orderId: string): Promise<DispatchDecision | null> {
    const raw = await this.redis.get(decisionKey(orderId));
    return raw ? (JSON.parse(raw) as DispatchDecision) : null;
  }

  /** Latest decisions of many orders (absent ones left out). */
  async many(orderIds: readonly string[]): Promise<Map<string, DispatchDecision>> {
    const out = new Map<string, DispatchDecision>();
    if (orderIds.length === 0) return out;
    const raws = await this.redis.mget(orderIds.map(decisionKey));
    raws.forEach((raw, i) => {
      if (raw) out.set(orderIds[i], JSON.parse(raw) as DispatchDecision);
    });
    return out;
  }
}
