/**
 * The optimizer's data model: a plain problem in, a plain plan out (VROOM style).
 *
 * Everything here is pure data. The optimizer is generic over the place type `P` so that the same code
 * serves the MDRP harness (planar metres) and the live service (lat/lng); it only ever looks at places
 * through the TravelModel.
 *
 * Times are seconds on the snapshot's own timeline (the MDRP harness uses minutes-of-day × 60, the live
 * service epoch seconds). Durations are seconds too.
 */

/** Planar coordinates in metres, used only for spatial pruning (grids, rings). */
export interface PlanarPoint {
  readonly x: number;
  readonly y: number;
}

/** How long it takes to go from one place to another. Never hard-coded inside the algorithm. */
export interface TravelModel<P> {
  /** Travel time in seconds from a to b (already rounded the way the model's world rounds it). */
  seconds(a: P, b: P): number;
  /** Projection to planar metres for spatial pruning; distances there approximate real ones. */
  planar(p: P): PlanarPoint;
  /** An upper bound of speed in metres per second, so pruning by planar distance never drops a reachable pair. */
  readonly maxSpeedMps: number;
}

export type DeliveryOption = 'express' | 'standard' | 'scheduled';

export interface OrderRequest<P> {
  readonly id: string;
  /** Orders with the same pickupId (store/restaurant) may be bundled. */
  readonly pickupId: string;
  readonly pickup: P;
  readonly dropoff: P;
  readonly placedAt: number;
  /** When the order is (or is expected to be) ready for pickup. */
  readonly readyAt: number;
  /** False when readyAt is only an estimate (ready time not yet revealed). */
  readonly readyKnown: boolean;
  /**
   * When readyKnown is false: standard deviation (s) of the estimate readyAt, which is then the centre of
   * the ready-time distribution (ready-estimate.ts). Absent or 0: the estimate is planned as if exact.
   */
  readonly readySpreadS?: number;
  readonly option: DeliveryOption;
  /** Target delivery time: lateness is measured against it. */
  readonly promisedBy: number;
  /** Scheduled deliveries: drop-off should fall inside [from, to]. */
  readonly window?: { readonly from: number; readonly to: number };
  /** Capacity units (items/size); 1 when unknown. */
  readonly size: number;
  /** A dispatcher pinned this order to a courier: the optimizer must not change it. */
  readonly pinnedCourierId?: string;
  /** Couriers who rejected or let an offer for this order expire: never offer it to them again. */
  readonly declinedBy: readonly string[];
  /** Higher is more urgent (dispatcher override); 0 by default. */
  readonly priority?: number;
  /**
   * Where `readyAt` comes from when the live service estimated it (learned prep times): informational
   * for the decision record, and the estimate's spread (seconds, half the interquartile range).
   */
  readonly readyEstimate?: ReadyEstimateInfo;
}

/** How an order's ready time was set: known (the store said so), learned (prep-time model), the store's estimate, or placement. */
export interface ReadyEstimateInfo {
  readonly source: 'known' | 'learned' | 'store' | 'default';
  /** learned: median prep time from placement given the order is not ready yet (s), its spread (s) and the store's samples. */
  readonly medianS?: number;
  readonly spreadS?: number;
  readonly samples?: number;
}

import type { CourierStatus } from '../domain/courier-status.js';
export type { CourierStatus };

export interface CourierState<P> {
  readonly id: string;
  /** Where the courier is now (free) or will be when its committed route ends (busy). */
  readonly position: P;
  /** When the courier is at `position` and free to start new work (≤ now when free). */
  readonly freeAt: number;
  /** A courier must pick up before its shift ends (it may drop off after). */
  readonly shiftEnd: number;
  readonly shiftStart: number;
  /** Capacity units the courier can carry at once. */
  readonly capacity: number;
  readonly status: CourierStatus;
  /** Orders delivered or committed so far in this shift: drives the guaranteed-pay top-up cost. */
  readonly ordersThisShift: number;
}

/** Service times at stops (MDRP: the courier spends half before and half after the pickup/drop-off instant). */
export interface ServiceTimes {
  readonly pickupS: number;
  readonly dropoffS: number;
}

/** Courier pay rules, used for the cost side of the knob. */
export interface PayRules {
  readonly perOrder: number;
  readonly guaranteedPerHour: number;
}

export interface Snapshot<P> {
  readonly now: number;
  readonly orders: readonly OrderRequest<P>[];
  readonly couriers: readonly CourierState<P>[];
  readonly travel: TravelModel<P>;
  readonly service: ServiceTimes;
  readonly pay: PayRules;
  /** Seed for any randomized step: same snapshot + policy + seed → same plan. */
  readonly seed?: number;
}

export interface Stop<P> {
  readonly kind: 'pickup' | 'dropoff';
  readonly orderIds: readonly string[];
  readonly place: P;
  /** Arrival at the stop. */
  readonly arriveAt: number;
  /** The pickup/drop-off instant (MDRP: max(arrival + half service, ready) at pickups). */
  readonly serviceAt: number;
  /** When the courier leaves the stop. */
  readonly departAt: number;
}

/** The two sides of the knob for one assignment, in comparable units. */
export interface CostBreakdown {
  /** Sum over orders of (drop-off − placement), seconds. */
  readonly clickToDoorS: number;
  /** Sum over orders of max(0, drop-off − promisedBy), seconds. */
  readonly latenessS: number;
  /** Courier seconds spent travelling to and through the route. */
  readonly travelS: number;
  /** Courier seconds waiting at the pickup for the food. */
  readonly waitS: number;
  /** Weighted total the optimizer minimised (policy units). */
  readonly total: number;
}

export interface Assignment<P> {
  readonly courierId: string;
  /** Orders in delivery sequence. */
  readonly orderIds: readonly string[];
  readonly stops: readonly Stop<P>[];
  readonly cost: CostBreakdown;
  /** Why this courier: the best alternative courier for the same bundle and its cost. */
  readonly runnerUp?: { readonly courierId: string; readonly total: number };
  readonly pinned: boolean;
}

export type UnassignedReason =
  | 'no_courier_in_reach'
  | 'waiting_to_bundle'
  | 'not_ready_soon_enough'
  | 'would_be_late_anyway'
  | 'all_couriers_declined'
  | 'pinned_courier_unavailable'
  | 'over_capacity'
  | 'round_budget_exhausted'
  /** Couriers in reach exist but the matching gave them to orders that gain more from them this round. */
  | 'couriers_taken'
  /** The best courier is still busy with earlier work; the order stays open rather than queue behind it. */
  | 'courier_busy';

export interface Unassigned {
  readonly orderId: string;
  readonly reason: UnassignedReason;
}

export interface Plan<P> {
  readonly assignments: readonly Assignment<P>[];
  readonly unassigned: readonly Unassigned[];
  readonly summary: {
    readonly orders: number;
    readonly couriers: number;
    readonly assigned: number;
    readonly bundles: number;
    readonly totalCost: number;
    readonly solveMs: number;
    /** True if the time budget cut the improvement phase short. */
    readonly truncated: boolean;
  };
}

/**
 * The explicit time-vs-cost knob and the other tunables. `timeWeight` in [0, 1]: 1 cares only about
 * delivery time, 0 only about courier cost; the individual weights below are scaled by it.
 */
export interface Policy {
  /** Wall-clock budget for one round. */
  readonly maxMs: number;
  /** The knob: 0 = cheapest, 1 = fastest. */
  readonly timeWeight: number;
  /** Weight per second of click-to-door (time side). */
  readonly clickToDoorWeight: number;
  /** Extra weight per second past the promised time (time side). */
  readonly latenessWeight: number;
  /** Weight per courier second travelling or waiting (cost side). */
  readonly courierSecondWeight: number;
  /** Largest bundle the policy allows (no fixed cap in the algorithm). */
  readonly maxBundleSize: number;
  /** Commitment rule: do not lock a courier to an order whose pickup is further ahead than this. */
  readonly commitHorizonS: number;
  /** Only couriers within this travel time of a pickup are candidates. */
  readonly candidateRadiusS: number;
  /** Candidate couriers kept per bundle after pruning. */
  readonly candidatesPerBundle: number;
  /** Orders ready later than now + lookAheadS are left out of this round's matching. */
  readonly lookAheadS: number;
  /** Orders of one pickup whose ready times differ by more than this are never bundled. */
  readonly bundleReadyGapS: number;
  /** Weight per courier second waiting at a pickup (cost side); below courierSecondWeight so near couriers win. */
  readonly idleWeight: number;
  /** Cost units per unit of extra pay (guaranteed-pay top-ups make an order free for an under-used courier). */
  readonly payWeight: number;
  /**
   * Bundling under scarcity: two bundles of one pickup merge when the extra cost is below this many
   * times the round's mean pickup delay (what a freed courier would save someone). 0 = merge only on a net saving.
   */
  readonly freedCourierFactor: number;
  /**
   * Fairness to old orders: leaving an order out of a round costs (1 + ageWeight) × its click-to-door so
   * far, so when couriers are short the oldest orders win them. 0 = age-neutral.
   */
  readonly ageWeight: number;
  /**
   * How long an order left out of a round is assumed to wait for its next chance: leaving it out costs
   * that much more click-to-door, and lateness if it would then be past its promise. 0 = ignore.
   */
  readonly deferralS: number;
  /**
   * When more orders are due than couriers are free, a second of a courier driving empty to a pickup
   * costs scarcityWeight × (queued orders per courier) seconds of click-to-door. 0 = ignore.
   */
  readonly scarcityWeight: number;
  /**
   * When more orders are due than couriers are free, each second a route keeps its courier busy (set-off
   * to the last drop-off, waiting included) costs busyTimeWeight × (queued orders per courier) seconds of
   * click-to-door: short jobs first, the queueing rule that minimises mean waiting. 0 = ignore.
   */
  readonly busyTimeWeight: number;
  /**
   * Window of the scarcity count: orders ready within it beyond the couriers free within it, per courier
   * (scarcity.ts). 0 = commitHorizonS (only what is due right now).
   */
  readonly scarcityHorizonS: number;
  /**
   * Uncertain ready times (orders with readySpreadS, ready-estimate.ts): the quantile of the ready-time
   * distribution a courier aims to arrive at. < 0 = from the knob (courier-second price over courier- plus
   * food-second price).
   */
  readonly readyQuantile: number;
  /** Uncertain ready times: never lock a courier whose expected wait for the food exceeds this (s). */
  readonly readyMaxExpectedWaitS: number;
  /** Uncertain ready times: how fast that limit shrinks when couriers are short (0 = fixed; ready-estimate.ts). */
  readonly readyScarcityWait: number;
  /**
   * Uncertain ready times: weight of the expected extra click-to-door of a route under the dispatch rule
   * (ready-estimate.ts expectedPickupS: food ready before the courier sets off waits for its whole drive),
   * on top of the route's planned cost. 0 = plan with the aimed-at quantile alone.
   */
  readonly readyRiskWeight: number;
  /**
   * Uncertain ready times, when couriers are short: weight of the courier's expected extra wait at the
   * counter (ready-estimate.ts expectedExtraWaitS), priced at the round's busy-second price (scarcity.ts).
   * 0 = a route's courier time is what its plan shows.
   */
  readonly readyBusyRiskWeight: number;
  /**
   * Uncertain ready times, per courier: a matched courier whose work another free, unmatched courier could
   * take over (a spare one as near the pickup, within readySpareSlackS) is idle anyway, so its waiting is
   * cheap: it aims at this earlier quantile, with readySpareMaxWaitS as its wait limit (spare-couriers.ts).
   * < 0 = off (every courier aims at readyQuantile).
   */
  readonly readySpareQuantile: number;
  /** How much later than the matched courier a spare one may reach the pickup and still back it (s). */
  readonly readySpareSlackS: number;
  /** The longest expected wait a spare-backed courier may be locked into (s). */
  readonly readySpareMaxWaitS: number;
}
