/**
 * Turns candidates into the assignment problem: one row per bundle, one column per courier, and what
 * leaving a bundle out costs. Serving an order is worth far more than any route costs, so the matching
 * first serves as many urgent orders as it can (those that cannot wait: every courier would have to set
 * off now), then reserves couriers for the others, and only then minimises the knob's cost. Among a
 * bundle's couriers only cost counts, so a near courier that may still wait beats a far one that must
 * leave now — the commitment rule then keeps the bundle open until the near one has to go.
 */
import { sparseFromRows, type SparseCostMatrix } from './assignment.js';
import type { Bundle } from './bundling.js';
import type { Candidate } from './candidates.js';
import { commitsNow } from './commitment.js';
import type { Policy } from './types.js';

const SERVE_NOW_VALUE_PER_ORDER = 1e9;
const SERVE_LATER_VALUE_PER_ORDER = 1e7;

function bundleWeight<P>(bundle: Bundle<P>): number {
  let priority = 0;
  for (const o of bundle.orders) priority = Math.max(priority, o.priority ?? 0);
  return bundle.orders.length * (1 + Math.max(0, priority));
}


export interface MatchingProblem {
  readonly matrix: SparseCostMatrix;
  readonly unassignedCost: Float64Array;
}

export function matchingProblem<P>(
  bundles: readonly Bundle<P>[],
  candidates: readonly (readonly Candidate<P>[])[],
  couriers: number,
  now: number,
  policy: Policy,
): MatchingProblem {
  const unassignedCost = new Float64Array(bundles.length);
  const rows = bundles.map((bundle, i) => {
    // Urgent: even the courier that could wait longest must set off now, i.e. the order cannot wait.
    const urgent = candidates[i].length > 0 && candidates[i].every((c) => commitsNow(c.route, now, policy));
    unassignedCost[i] = (urgent ? SERVE_NOW_VALUE_PER_ORDER : SERVE_LATER_VALUE_PER_ORDER) * bundleWeight(bundle);
    return candidates[i].map((c) => ({ col: c.courier, cost: c.cost.total }));
  });
  return { matrix: sparseFromRows(couriers, rows), unassignedCost };
}
