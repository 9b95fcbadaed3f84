/**
 * Assign preview: before a dispatcher overrides, how the courier they picked compares with the one the
 * optimizer would pick for the order alone — both priced by the optimizer's own route and cost model
 * (planRoute, routeCost, candidatesFor), from the same snapshot. Pure; times in, ms out.
 */
import { makeBundle } from './bundling.js';
import { candidatesFor, CourierGrid } from './candidates.js';
import { routeCost } from './cost.js';
import { usableCouriers } from './explain.js';
import { planRoute, type Route, type RouteContext } from './route.js';
import type { CostBreakdown, CourierState, OrderRequest, Policy, Snapshot } from './types.js';

export interface PreviewOption {
  readonly courierId: string;
  /** Epoch ms. */
  readonly etaPickupAt: number;
  readonly etaDropoffAt: number;
  readonly cost: CostBreakdown;
}

export interface AssignPreview {
  /** Null when the chosen courier cannot serve the order (too small, or its shift ends before the pickup). */
  readonly chosen: PreviewOption | null;
  /** The optimizer's pick among the snapshot's couriers; null when none is in reach. */
  readonly optimizer: PreviewOption | null;
  /** chosen − optimizer: positive means the override delivers later / costs more. */
  readonly delta: { readonly etaDropoffMs: number; readonly cost: number } | null;
}

function option<P>(courierId: string, route: Route<P>, cost: CostBreakdown): PreviewOption {
  return { courierId, etaPickupAt: route.pickupAt * 1000, etaDropoffAt: route.dropAt[0] * 1000, cost };
}

export function assignPreview<P>(snapshot: Snapshot<P>, order: OrderRequest<P>, chosenCourier: CourierState<P>, policy: Policy): AssignPreview {
  const ctx: RouteContext<P> = { now: snapshot.now, travel: snapshot.travel, service: snapshot.service };
  // the dispatcher decides here: no pin, and a courier who declined may still be picked by hand
  const free: OrderRequest<P> = { ...order, pinnedCourierId: undefined };
  const route = planRoute(chosenCourier, [free], ctx);
  const chosen = route ? option(chosenCourier.id, route, routeCost(route, chosenCourier, snapshot.pay, policy)) : null;

  const grid = new CourierGrid(usableCouriers(snapshot.couriers, snapshot.now), ctx);
  const [best] = candidatesFor(makeBundle([free]), grid, ctx, snapshot.pay, policy);
  const optimizer = best ? option(grid.couriers[best.courier].id, best.route, best.cost) : null;
  const delta = chosen && optimizer ? { etaDropoffMs: chosen.etaDropoffAt - optimizer.etaDropoffAt, cost: chosen.cost.total - optimizer.cost.total } : null;
  return { chosen, optimizer, delta };
}
