/**
 * Assignment updates (issue 14): may an order that is assigned but not picked up move to another courier
 * now that its ready estimate changed? Pure: the live round (runtime/dispatcher.ts) hands in the assigned
 * orders of its zone, their couriers' progress and the couriers free for new work, and carries out the
 * moves this returns. The MDRP harness never calls it (the benchmark allows no diversion en route).
 *
 * The rule, per order, in this order (the first that applies keeps the order where it is):
 * - `pinned`: a dispatcher pinned it (never moved automatically);
 * - `not_movable`: its courier is at the store already (`at_pickup`) or it is not assigned;
 * - `no_plan`: the ready time its assignment was planned with is unknown (a manual offer);
 * - `estimate_unchanged`: the ready estimate moved by less than `readyChangeS` since it was planned;
 * - `move_limit` / `cooldown`: moved `maxMoves` times already / less than `cooldownS` ago;
 * - `near_store`: its courier is within `nearStoreS` of the pickup;
 * - `bundled`: its courier picks up another order at the same place (moving one saves no trip);
 * - `no_better_courier` / `gain_too_small`: no other courier, or none better by at least `minGainS`.
 *
 * "Better" is the optimizer's own score (cost.ts, the time-vs-cost knob) of serving the order from here:
 * click-to-door and lateness on the time side, the courier's remaining drive to the store and its wait
 * there on the cost side. The gain is expressed in seconds of click-to-door (the score difference over
 * timeWeight × clickToDoorWeight), so `minGainS` reads as "minutes saved" whatever the knob. Couriers that
 * declined the order, lack the capacity or end their shift before the pickup are left out; each courier
 * gets at most one move per round (it is then under offer), best gains first.
 */
import type { CourierState, OrderRequest, Policy, ServiceTimes, TravelModel } from './types.js';

export interface ReassignRules {
  /** Off: nothing is ever moved. */
  readonly enabled: boolean;
  /** The ready estimate must differ by at least this from the one the assignment was planned with (s). */
  readonly readyChangeS: number;
  /** Minimum gain, in seconds of click-to-door (hysteresis). */
  readonly minGainS: number;
  /** Never move an order whose courier is this close (travel s) to the pickup. */
  readonly nearStoreS: number;
  /** At most this many automatic moves per order. */
  readonly maxMoves: number;
  /** No automatic move sooner than this after the last one (s). */
  readonly cooldownS: number;
}

/** An order bound to a courier who has not picked it up yet, as the round sees it (times in seconds). */
export interface AssignedOrder<P> {
  /** The order with its ready estimate now (`readyAt`). */
  readonly order: OrderRequest<P>;
  readonly status: 'assigned' | 'at_pickup';
  readonly pinned: boolean;
  readonly courierId: string;
  /** Where its courier is now. */
  readonly courierPosition: P;
  /** When its courier reaches the pickup, through the stops it has before it. */
  readonly arriveAt: number;
  /** Seconds of driving still ahead on the leg into the pickup. */
  readonly legS: number;
  /** Its courier also picks up another order at the same place. */
  readonly sharesPickup: boolean;
  /** The ready time the assignment was planned with; null when unknown. */
  readonly plannedReadyAt: number | null;
  /** Automatic moves so far, and when the last one was. */
  readonly moves: number;
  readonly lastMovedAt: number | null;
}

export type KeepReason =
  | 'disabled'
  | 'pinned'
  | 'not_movable'
  | 'no_plan'
  | 'estimate_unchanged'
  | 'move_limit'
  | 'cooldown'
  | 'near_store'
  | 'bundled'
  | 'no_better_courier'
  | 'gain_too_small';

/** One way of serving the order from now on. */
export interface ServeOption {
  readonly courierId: string;
  readonly arriveAt: number;
  /** Pickup instant: arrival + half the service, or when the food is ready. */
  readonly pickupAt: number;
  readonly dropoffAt: number;
  readonly travelS: number;
  readonly waitS: number;
  /** The optimizer's score of it (policy units). */
  readonly total: number;
}

export type ReassignVerdict =
  | {
      readonly orderId: string;
      readonly move: true;
      readonly reason: 'estimate_changed';
      readonly fromCourierId: string;
      readonly toCourierId: string;
      /** The gain in seconds of click-to-door (≥ minGainS). */
      readonly gainS: number;
      /** Pickup (and so delivery) earlier by this many seconds; may be ≤ 0 when the gain is the courier's time. */
      readonly savedS: number;
      /** Current estimate − planned one (s): < 0 earlier, > 0 later. */
      readonly readyChangeS: number;
      readonly current: ServeOption;
      readonly next: ServeOption;
    }
  | {
      readonly orderId: string;
      readonly move: false;
      readonly reason: KeepReason;
      readonly readyChangeS?: number;
      readonly gainS?: number;
    };

export interface ReassignContext<P> {
  readonly now: number;
  readonly travel: TravelModel<P>;
  readonly service: ServiceTimes;
  readonly policy: Policy;
}

/** Score of serving `o` by a courier arriving at `arriveAt` after `travelS` of driving (cost.ts, one order). */
export function serveOption<P>(o: OrderRequest<P>, courierId: string, arriveAt: number, travelS: number, ctx: ReassignContext<P>): ServeOption {
  const { policy, service } = ctx;
  const half = service.pickupS / 2;
  const pickupAt = Math.max(arriveAt + half, o.readyAt);
  const waitS = Math.max(0, o.readyAt - (arriveAt + half));
  const dropoffAt = pickupAt + half + ctx.travel.seconds(o.pickup, o.dropoff) + service.dropoffS / 2;
  const late = Math.max(0, dropoffAt - o.promisedBy) + (o.window ? Math.max(0, o.window.from - dropoffAt) : 0);
  const timeSide = policy.clickToDoorWeight * (dropoffAt - o.placedAt) + policy.latenessWeight * late;
  const costSide = policy.courierSecondWeight * travelS + policy.idleWeight * waitS;
  const total = policy.timeWeight * timeSide + (1 - policy.timeWeight) * costSide;
  return { courierId, arriveAt, pickupAt, dropoffAt, travelS, waitS, total };
}

/** Policy units per second of click-to-door (the gain's exchange rate); 1 when the knob ignores time. */
function unitsPerSecond(policy: Policy): number {
  const u = policy.timeWeight * policy.clickToDoorWeight;
  return u > 0 ? u : 1;
}

/** The gates that need no courier (everything but the comparison). */
export function precheck<P>(a: AssignedOrder<P>, rules: ReassignRules, now: number): ReassignVerdict | null {
  const orderId = a.order.id;
  const keep = (reason: KeepReason, extra: { readyChangeS?: number } = {}): ReassignVerdict => ({ orderId, move: false, reason, ...extra });
  if (!rules.enabled) return keep('disabled');
  if (a.pinned || a.order.pinnedCourierId !== undefined) return keep('pinned');
  if (a.status !== 'assigned') return keep('not_movable');
  if (a.plannedReadyAt === null) return keep('no_plan');
  const readyChangeS = a.order.readyAt - a.plannedReadyAt;
  if (Math.abs(readyChangeS) < rules.readyChangeS) return keep('estimate_unchanged', { readyChangeS });
  if (a.moves >= rules.maxMoves) return keep('move_limit', { readyChangeS });
  if (a.lastMovedAt !== null && now - a.lastMovedAt < rules.cooldownS) return keep('cooldown', { readyChangeS });
  if (a.sharesPickup) return keep('bundled', { readyChangeS });
  return null;
}

/**
 * Decides for each assigned order whether it moves and to whom. `couriers` are those free for new work
 * now (the round's view: not paused, no open offer; busy ones are free where and when their work ends).
 */
export function planMoves<P>(
  assigned: readonly AssignedOrder<P>[],
  couriers: readonly CourierState<P>[],
  rules: ReassignRules,
  ctx: ReassignContext<P>,
): ReassignVerdict[] {
  const verdicts = new Map<string, ReassignVerdict>();
  type Proposal = { a: AssignedOrder<P>; current: ServeOption; options: ServeOption[]; readyChangeS: number };
  const proposals: Proposal[] = [];
  for (const a of assigned) {
    const early = precheck(a, rules, ctx.now);
    if (early) {
      verdicts.set(a.order.id, early);
      continue;
    }
    const readyChangeS = a.order.readyAt - a.plannedReadyAt!;
    if (ctx.travel.seconds(a.courierPosition, a.order.pickup) <= rules.nearStoreS) {
      verdicts.set(a.order.id, { orderId: a.order.id, move: false, reason: 'near_store', readyChangeS });
      continue;
    }
    const current = serveOption(a.order, a.courierId, a.arriveAt, a.legS, ctx);
    const options: ServeOption[] = [];
    for (const c of couriers) {
      if (c.id === a.courierId || a.order.declinedBy.includes(c.id) || c.capacity < a.order.size) continue;
      const legS = ctx.travel.seconds(c.position, a.order.pickup);
      const arriveAt = Math.max(ctx.now, c.freeAt) + legS;
      if (arriveAt > c.shiftEnd) continue;
      options.push(serveOption(a.order, c.id, arriveAt, legS, ctx));
    }
    options.sort((x, y) => x.total - y.total || (x.courierId < y.courierId ? -1 : 1));
    proposals.push({ a, current, options, readyChangeS });
  }
  // best gains first; a courier takes at most one moved order per round
  const gainOf = (p: Proposal) => (p.options[0] ? (p.current.total - p.options[0].total) / unitsPerSecond(ctx.policy) : -Infinity);
  proposals.sort((x, y) => gainOf(y) - gainOf(x) || (x.a.order.id < y.a.order.id ? -1 : 1));
  const taken = new Set<string>();
  for (const p of proposals) {
    const orderId = p.a.order.id;
    const best = p.options.find((o) => !taken.has(o.courierId));
    if (!best) {
      verdicts.set(orderId, { orderId, move: false, reason: 'no_better_courier', readyChangeS: p.readyChangeS });
      continue;
    }
    const gainS = (p.current.total - best.total) / unitsPerSecond(ctx.policy);
    if (gainS <= 0) {
      verdicts.set(orderId, { orderId, move: false, reason: 'no_better_courier', readyChangeS: p.readyChangeS, gainS });
      continue;
    }
    if (gainS < rules.minGainS) {
      verdicts.set(orderId, { orderId, move: false, reason: 'gain_too_small', readyChangeS: p.readyChangeS, gainS });
      continue;
    }
    taken.add(best.courierId);
    verdicts.set(orderId, {
      orderId,
      move: true,
      reason: 'estimate_changed',
      fromCourierId: p.a.courierId,
      toCourierId: best.courierId,
      gainS,
      savedS: p.current.pickupAt - best.pickupAt,
      readyChangeS: p.readyChangeS,
      current: p.current,
      next: best,
    });
  }
  return assigned.map((a) => verdicts.get(a.order.id)!);
}
