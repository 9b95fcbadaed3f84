/**
 * The optimizer policy the service runs: the defaults, the operator's DISPATCH_POLICY overrides, and the
 * round budget DISPATCH_ROUND_BUDGET_MS. One place, so the dispatch rounds, the assign preview and the
 * carrier comparison price with the same knob.
 */
import { defaultPolicy, withOverrides } from '../dispatch/policy.js';
import type { Policy } from '../dispatch/types.js';
import type { Config } from '../config.js';

export function servicePolicy(config: Pick<Config, 'dispatchPolicy' | 'dispatchRoundBudgetMs'>): Policy {
  return withOverrides(defaultPolicy, { ...config.dispatchPolicy, maxMs: config.dispatchRoundBudgetMs });
}
