/**
 * Keeps the console's state from the socket's frames: a full `state` replaces it, a `delta`
 * (src/runtime/console-delta.ts) upserts and removes couriers and orders by id. The lists keep the
 * service's order (couriers by id, orders oldest first), and every order's age follows the frame's time.
 */
// '.js': the service's type-check compiles this file too (test/unit/console-delta.test.ts)
import type { ConsoleCourier, ConsoleOrder, ConsoleState } from './types.js';

export interface ConsoleDelta {
  type: 'delta';
  at: number;
  couriers: { upsert: ConsoleCourier[]; remove: string[] };
  orders: { upsert: ConsoleOrder[]; remove: string[] };
  cells: ConsoleState['cells'];
  kpis: ConsoleState['kpis'];
  truncated: ConsoleState['truncated'];
  zonesVersion: string;
}

const byCourierId = (a: ConsoleCourier, b: ConsoleCourier) => (a.courierId < b.courierId ? -1 : a.courierId > b.courierId ? 1 : 0);
const byPlacement = (a: ConsoleOrder, b: ConsoleOrder) => a.placedAt - b.placedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

function merge<T>(list: readonly T[], index: Map<string, T>, change: { upsert: T[]; remove: string[] }, id: (x: T) => string, order: (a: T, b: T) => number): T[] {
  let membership = change.remove.length > 0;
  for (const r of change.remove) index.delete(r);
  for (const x of change.upsert) {
    if (!index.has(id(x))) membership = true;
    index.set(id(x), x);
  }
  if (membership) return [...index.values()].sort(order);
  if (!change.upsert.length) return list as T[];
  return list.map((x) => index.get(id(x))!);
}

export class StateMerger {
  private couriers = new Map<string, ConsoleCourier>();
  private orders = new Map<string, ConsoleOrder>();
  state: ConsoleState | null = null;

  /** The state after this frame, or null for a delta that has no state to apply to (never on one socket). */
  take(frame: ConsoleState | ConsoleDelta): ConsoleState | null {
    if (frame.type === 'state') {
      this.couriers = new Map(frame.couriers.map((c) => [c.courierId, c]));
      this.orders = new Map(frame.orders.map((o) => [o.id, o]));
      this.state = frame;
      return frame;
    }
    const prev = this.state;
    if (!prev) return null;
    const couriers = merge(prev.couriers, this.couriers, frame.couriers, (c) => c.courierId, byCourierId);
    const orders = merge(prev.orders, this.orders, frame.orders, (o) => o.id, byPlacement);
    for (const o of orders) o.ageMs = Math.max(0, frame.at - o.placedAt);
    this.state = { type: 'state', at: frame.at, couriers, orders, cells: frame.cells, kpis: frame.kpis, truncated: frame.truncated, zonesVersion: frame.zonesVersion };
    return this.state;
  }
}
