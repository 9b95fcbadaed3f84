/**
 * The live side of the assign preview (dispatch/preview.ts): the order as the optimizer sees it, the
 * couriers the round would consider around its pickup, and the courier the dispatcher picked — free
 * where and when its current work ends (the order itself left out of that work when it already has it).
 */
import type { Clock } from '../clock.js';
import { assignPreview, type AssignPreview } from '../dispatch/preview.js';
import type { Policy } from '../dispatch/types.js';
import type { OrderStatus } from '../domain/order.js';
import { openOrderEntry } from '../store/redis/open-orders.js';
import { courierState, couriersAround, liveSnapshot, plannedOrder, withPlannedReady, type SnapshotOptions, type SnapshotSources } from './dispatch-snapshot.js';

/** Statuses an override may still (re)assign: before the food is picked up. */
export const PREVIEWABLE: readonly OrderStatus[] = ['placed', 'ready', 'offered', 'assigned', 'at_pickup'];

export class PreviewError extends Error {
  constructor(
    readonly code: 'order_not_found' | 'courier_not_found' | 'order_not_assignable',
    message: string,
  ) {
    super(message);
  }
}

export interface PreviewDeps {
  readonly sources: SnapshotSources;
  readonly options: SnapshotOptions;
  readonly policy: Policy;
  readonly clock: Clock;
}

export async function previewAssign(deps: PreviewDeps, orderId: string, courierId: string): Promise<AssignPreview> {
  const { sources, options } = deps;
  const nowMs = deps.clock.now();
  const order = await sources.repo.get(orderId);
  if (!order) throw new PreviewError('order_not_found', 'order not found');
  if (!PREVIEWABLE.includes(order.status)) throw new PreviewError('order_not_assignable', `order ${orderId} is ${order.status}`);
  const loc = await sources.index.get(courierId);
  if (!loc) throw new PreviewError('courier_not_found', `No position known for courier ${courierId}`);
  const [shifts, active, around] = await Promise.all([
    sources.availability.shifts([courierId]),
    sources.repo.activeForCouriers([courierId]),
    couriersAround([order.pickup], nowMs, sources, options, orderId),
  ]);
  const work = withPlannedReady((active.get(courierId) ?? []).filter((o) => o.id !== orderId), nowMs, options.readyTimes);
  const chosen = courierState(loc, work, shifts.get(courierId), nowMs, options);
  const request = plannedOrder(openOrderEntry(order), nowMs, options.readyTimes);
  return assignPreview(liveSnapshot(nowMs, [request], around, options), request, chosen, deps.policy);
}
