/**
 * Hybrid fleet policy (issue 13), pure: after a dispatch round planned the own fleet, which of the
 * round's orders go to a third-party carrier instead, and why. Explicit rules, checked in this order:
 *
 *  1. own fleet when the order is `ownOnly` (a carrier failed or cancelled it, or a dispatcher forced
 *     the own fleet), when an own offer of it is open (never while an own offer is open), when its zone
 *     allows no carrier, or when the carrier gave no quote (refused, unreachable);
 *  2. carrier — *time*: no own courier can meet its promise within the round (the plan left it waiting
 *     with no own courier in reach, or the own drop-off estimate is after `promisedBy`) and the carrier
 *     would deliver earlier than the own fleet (or at all). Off when the time-vs-cost knob `timeWeight`
 *     is 0 (only cost counts), except when there is no own courier at all;
 *  3. carrier — *cost*: the own cost of the order exceeds the carrier's quote by more than the carrier's
 *     margin (`ownCost > quote × (1 + margin)`), as long as the carrier still meets the promise. Own cost
 *     = courier seconds (travel + waiting) of its planned assignment × the own cost per courier hour.
 *     Off when `timeWeight` is 1 (only time counts);
 *  In a zone served by the carrier alone (zone fleet `carrier`) every order with a quote goes to it.
 *  4. otherwise the own fleet (the plan stands: offer, or wait for the next round).
 *
 * Orders the plan deliberately holds back (waiting to bundle, not ready soon enough) are left to the own
 * fleet unless their promise is at risk. A dispatcher's force (POST /v1/orders/:id/fleet) bypasses all
 * of this.
 */
import type { Money } from '../domain/fees.js';

/** What the round knows of an order's own-fleet option. */
export type OwnOption =
  /** The plan gives it to an own courier: drop-off estimate and the courier seconds it takes. */
  | { readonly kind: 'assigned'; readonly dropoffAt: number; readonly courierSeconds: number }
  /** The plan leaves it waiting: the optimizer's reason and the earliest own drop-off (null: no own courier at all). */
  | { readonly kind: 'waiting'; readonly reason: string; readonly dropoffAt: number | null };

export interface FleetCandidate {
  readonly orderId: string;
  readonly promisedBy: number;
  readonly ownOnly: boolean;
  /** An own offer of it is open now. */
  readonly offerOpen: boolean;
  /** The carrier its zone allows (zone fleet `carrier` or `both`); null: own fleet only. */
  readonly carrier: string | null;
  readonly own: OwnOption;
  /** The zone is served by the carrier alone (zone fleet `carrier`). */
  readonly carrierOnly?: boolean;
  /** The carrier's quote; null when none was asked for or the carrier gave none. */
  readonly quote: { readonly fee: Money; readonly dropoffEta: number } | null;
}

export interface FleetPolicyOptions {
  /** The time-vs-cost knob of the dispatch policy (0 only cost … 1 only time). */
  readonly timeWeight: number;
  /** Own cost per courier hour, in the carrier quote's currency units. */
  readonly ownCostPerHour: number;
  /** Per carrier: the carrier wins on cost only when own cost > quote × (1 + margin). */
  readonly margin: (carrier: string) => number;
}

export type FleetReason =
  | 'carrier: no own courier meets promise'
  | 'carrier: own cost exceeds carrier quote by margin'
  | 'carrier: zone served by carrier only'
  | 'own: own fleet only'
  | 'own: own offer open'
  | 'own: zone allows no carrier'
  | 'own: no carrier quote'
  | 'own: carrier would be later'
  | 'own: own fleet meets promise';

export interface FleetDecision {
  readonly orderId: string;
  /** `own` or the carrier's name. */
  readonly fleet: string;
  readonly reason: FleetReason;
  /** Own cost estimate (quote currency) when the plan had an own courier for it. */
  readonly ownCost?: number;
}

/** Waiting reasons that mean "the optimizer holds it back on purpose", not "no own courier". */
const DELIBERATE: ReadonlySet<string> = new Set(['waiting_to_bundle', 'not_ready_soon_enough']);

/** Which orders need a carrier quote at all (rule 1 passes): the runtime asks only for these. */
export function wantsQuote(c: Omit<FleetCandidate, 'quote'>): boolean {
  return !c.ownOnly && !c.offerOpen && c.carrier !== null;
}

export function ownCostOf(own: OwnOption, ownCostPerHour: number): number | undefined {
  return own.kind === 'assigned' ? (own.courierSeconds / 3600) * ownCostPerHour : undefined;
}

export function decideFleet(c: FleetCandidate, opts: FleetPolicyOptions): FleetDecision {
  const own = (reason: FleetReason, ownCost?: number): FleetDecision => ({ orderId: c.orderId, fleet: 'own', reason, ...(ownCost !== undefined ? { ownCost } : {}) });
  if (c.ownOnly) return own('own: own fleet only');
  if (c.offerOpen) return own('own: own offer open');
  if (c.carrier === null) return own('own: zone allows no carrier');
  if (c.quote === null) return own('own: no carrier quote');
  const carrier = (reason: FleetReason, ownCost?: number): FleetDecision => ({ orderId: c.orderId, fleet: c.carrier!, reason, ...(ownCost !== undefined ? { ownCost } : {}) });
  const ownCost = ownCostOf(c.own, opts.ownCostPerHour);
  if (c.carrierOnly) return carrier('carrier: zone served by carrier only', ownCost);

  // time: can the own fleet meet the promise within this round?
  const ownDropoff = c.own.dropoffAt;
  const noOwnCourier = c.own.kind === 'waiting' && c.own.dropoffAt === null;
  const deliberate = c.own.kind === 'waiting' && DELIBERATE.has(c.own.reason) && ownDropoff !== null && ownDropoff <= c.promisedBy;
  const ownLate = ownDropoff === null || ownDropoff > c.promisedBy;
  const carrierEarlier = ownDropoff === null || c.quote.dropoffEta < ownDropoff;
  if (!deliberate && (noOwnCourier || (opts.timeWeight > 0 && ownLate))) {
    if (carrierEarlier) return carrier('carrier: no own courier meets promise', ownCost);
    return own('own: carrier would be later', ownCost);
  }

  // cost: only where the own plan has a cost and the carrier keeps the promise
  if (opts.timeWeight < 1 && ownCost !== undefined && c.quote.dropoffEta <= c.promisedBy) {
    if (ownCost > c.quote.fee.amount * (1 + opts.margin(c.carrier))) return carrier('carrier: own cost exceeds carrier quote by margin', ownCost);
  }
  return own('own: own fleet meets promise', ownCost);
}

/**
 * The own-fleet option of one order from the round's decision (epoch ms): an assigned order's planned
 * drop-off and courier seconds (a bundle's travel and waiting shared equally), a waiting order's earliest
 * own drop-off — the nearest courier's pickup ETA, then straight to the drop-off — or null (no own courier).
 */
export function ownOptionOf<P>(
  d: { readonly decision: string; readonly reason?: string; readonly etaDropoffAt?: number; readonly cost?: { readonly travelS: number; readonly waitS: number }; readonly stops?: readonly { readonly orderId: string }[]; readonly nearest?: { readonly etaPickupAt: number } } | undefined,
  order: { readonly pickup: P; readonly dropoff: P },
  travel: { seconds(a: P, b: P): number },
  service: { readonly pickupS: number; readonly dropoffS: number },
): OwnOption {
  if (d && d.decision === 'assigned' && d.etaDropoffAt !== undefined && d.cost) {
    const orders = Math.max(1, new Set((d.stops ?? []).map((s) => s.orderId)).size);
    return { kind: 'assigned', dropoffAt: d.etaDropoffAt, courierSeconds: (d.cost.travelS + d.cost.waitS) / orders };
  }
  const reason = d?.reason ?? 'no_courier_in_reach';
  if (!d?.nearest) return { kind: 'waiting', reason, dropoffAt: null };
  const s = travel.seconds(order.pickup, order.dropoff) + service.pickupS / 2 + service.dropoffS / 2;
  return { kind: 'waiting', reason, dropoffAt: d.nearest.etaPickupAt + Math.round(s * 1000) };
}
