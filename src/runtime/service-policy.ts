/**
 * The optimizer policy the service runs: the defaults, the operator's DISPATCH_POLICY overrides, and the
 * round budget DISPATCH_ROUND_BUDGET_MS. One place, so the dispatch rounds, the assign preview and the
 * carrier comparison price with the same knob.
 */
import type { Policy } from '../dispatch/types.js';
import type { Config } from '../config.js';

/** config.dispatchPolicy is already resolved and validated at start-up; only the budget is added here. */
export function servicePolicy(config: Pick<Config, 'dispatchPolicy' | 'dispatchRoundBudgetMs'>): Policy {
  return Object.freeze({ ...config.dispatchPolicy, maxMs: config.dispatchRoundBudgetMs });
}
