/**
 * Which matched couriers are idle anyway: a per-courier price of waiting for uncertain ready times.
 *
 * A courier locked early to food that is not ready yet waits at the counter; that wait costs nothing if
 * the courier would have had nothing else to do. After the round's matching, a free courier that got no
 * bundle is spare: if one can reach a matched courier's pickup about as soon (within
 * `policy.readySpareSlackS`), the matched courier's time is not scarce — whatever it would have served
 * next, the spare one can — so it may aim early (`policy.readySpareQuantile`). Each spare courier backs at
 * most one matched courier, nearest first, so a round with two spare couriers never lets ten couriers aim
 * early on their strength. A courier with no spare near keeps the round's aim.
 *
 * Pure and deterministic (ties break on indices).
 */
import { startTime } from './route.js';
import type { CourierState, Policy, TravelModel } from './types.js';

/** A spare courier must stay on shift this long after the matched courier's arrival to back it (s). */
export const SPARE_ON_SHIFT_S = 900;

/** A matched courier asking to aim early: the pickup and when it would be there. */
export interface SpareNeed<P> {
  readonly pickup: P;
  readonly arriveAt: number;
}

/**
 * For each need (in the given order), whether a spare courier backs it. Spare: in `pool`, not in
 * `matched`, free within the commitment horizon, still on shift SPARE_ON_SHIFT_S after the matched
 * courier's arrival, and at the pickup no later than `arriveAt + readySpareSlackS`.
 */
export function spareBacking<P>(
  needs: readonly SpareNeed<P>[],
  pool: readonly CourierState<P>[],
  matched: ReadonlySet<number>,
  now: number,
  travel: TravelModel<P>,
  policy: Pick<Policy, 'commitHorizonS' | 'readySpareSlackS'>,
): boolean[] {
  const spare: number[] = [];
  pool.forEach((c, i) => {
    if (!matched.has(i) && startTime(c, now) <= now + policy.commitHorizonS) spare.push(i);
  });
  const used = new Set<number>();
  return needs.map((need) => {
    let best = -1;
    let bestAt = Infinity;
    for (const i of spare) {
      if (used.has(i)) continue;
      const c = pool[i]!;
      if (c.shiftEnd < need.arriveAt + SPARE_ON_SHIFT_S) continue;
      const at = startTime(c, now) + travel.seconds(c.position, need.pickup);
      if (at <= need.arriveAt + policy.readySpareSlackS && at < bestAt) {
        best = i;
        bestAt = at;
      }
    }
    if (best < 0) return false;
    used.add(best);
    return true;
  });
}
