/**
 * Bundling: orders of one pickup (restaurant, store) placed close in time travel together when couriers
 * are scarce. The policy caps bundle size; scarcity (orders per available courier) sets the target size.
 */
import type { OrderRequest, Policy } from './types.js';

export interface Bundle<P> {
  readonly pickupId: string;
  readonly pickup: P;
  /** Sorted by id; delivery order is decided per courier by the route module. */
  readonly orders: readonly OrderRequest<P>[];
  /** Latest ready time of the orders: the bundle cannot be picked up earlier. */
  readonly readyAt: number;
  readonly size: number;
}

export function byId<T extends { readonly id: string }>(a: T, b: T): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export function makeBundle<P>(orders: readonly OrderRequest<P>[]): Bundle<P> {
  const sorted = [...orders].sort(byId);
  let readyAt = -Infinity;
  let size = 0;
  for (const o of sorted) {
    if (o.readyAt > readyAt) readyAt = o.readyAt;
    size += o.size;
  }
  return { pickupId: sorted[0].pickupId, pickup: sorted[0].pickup, orders: sorted, readyAt, size };
}

/**
 * Target bundle size: 1 while there are at least as many available couriers as orders, otherwise the
 * ratio rounded up, within the policy cap.
 */
export function targetBundleSize(orders: number, couriers: number, policy: Policy): number {
  if (orders <= couriers) return 1;
  const ratio = couriers > 0 ? Math.ceil(orders / couriers) : policy.maxBundleSize;
  return Math.max(1, Math.min(policy.maxBundleSize, ratio));
}

/**
 * Splits orders into bundles: per pickup, in ready-time order, consecutive orders join a bundle while it
 * is below `targetSize`, fits `maxCapacity` (the biggest courier's) and their ready times are within
 * `policy.bundleReadyGapS` of the bundle's first.
 * Deterministic: ties break on order id; bundles come out sorted by (readyAt, first order id).
 */
export function formBundles<P>(
  orders: readonly OrderRequest<P>[],
  targetSize: number,
  policy: Pick<Policy, 'bundleReadyGapS'>,
  maxCapacity = Infinity,
): Bundle<P>[] {
  const byPickup = new Map<string, OrderRequest<P>[]>();
  for (const o of orders) {
    const list = byPickup.get(o.pickupId);
    if (list) list.push(o);
    else byPickup.set(o.pickupId, [o]);
  }
  const bundles: Bundle<P>[] = [];
  for (const list of byPickup.values()) {
    list.sort((a, b) => a.readyAt - b.readyAt || byId(a, b));
    let current: OrderRequest<P>[] = [];
    let size = 0;
    for (const o of list) {
      const first = current[0];
      if (
        first &&
        (current.length >= targetSize || o.readyAt - first.readyAt > policy.bundleReadyGapS || size + o.size > maxCapacity)
      ) {
        bundles.push(makeBundle(current));
        current = [];
        size = 0;
      }
      current.push(o);
      size += o.size;
    }
    if (current.length) bundles.push(makeBundle(current));
  }
  return bundles.sort((a, b) => a.readyAt - b.readyAt || byId(a.orders[0], b.orders[0]));
}
