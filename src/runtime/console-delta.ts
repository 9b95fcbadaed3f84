/**
 * The console socket's compact form: after one full `state`, a client that asked for it (`?delta=1`)
 * gets `{type:'delta', at, couriers:{upsert, remove}, orders:{upsert, remove}, cells, kpis, truncated, zonesVersion}`
 * — only the couriers and orders that changed since the previous frame (an order's `ageMs` alone is
 * not a change: the client recomputes it as `at - placedAt`). At 5,000 couriers, of which a fifth report
 * a point in a given second, a frame shrinks from ~1.5 MB to ~0.15 MB. Pure (no I/O).
 */
import type { ConsoleCourier, ConsoleOrder, ConsoleState } from './console-state.js';

export interface ConsoleDelta {
  readonly type: 'delta';
  readonly at: number;
  readonly couriers: { readonly upsert: ConsoleCourier[]; readonly remove: string[] };
  readonly orders: { readonly upsert: ConsoleOrder[]; readonly remove: string[] };
  readonly cells: ConsoleState['cells'];
  readonly kpis: ConsoleState['kpis'];
  readonly truncated: ConsoleState['truncated'];
  readonly zonesVersion: string;
}

/** Same values for every field but `skip` (nested objects compared by their JSON). */
function sameExcept(a: object, b: object, skip: string): boolean {
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ra), ...Object.keys(rb)]);
  for (const k of keys) {
    if (k === skip) continue;
    const x = ra[k];
    const y = rb[k];
    if (x === y) continue;
    if (x && y && typeof x === 'object' && typeof y === 'object' && JSON.stringify(x) === JSON.stringify(y)) continue;
    return false;
  }
  return true;
}

function diff<T extends object>(prev: readonly T[], next: readonly T[], id: (x: T) => string, skip: string): { upsert: T[]; remove: string[] } {
  const before = new Map(prev.map((x) => [id(x), x]));
  const upsert: T[] = [];
  for (const x of next) {
    const old = before.get(id(x));
    before.delete(id(x));
    if (!old || !sameExcept(old, x, skip)) upsert.push(x);
  }
  return { upsert, remove: [...before.keys()] };
}

export function stateDelta(prev: ConsoleState, next: ConsoleState): ConsoleDelta {
  return {
    type: 'delta',
    at: next.at,
    couriers: diff(prev.couriers, next.couriers, (c) => c.courierId, ''),
    orders: diff(prev.orders, next.orders, (o) => o.id, 'ageMs'),
    cells: next.cells,
    kpis: next.kpis,
    truncated: next.truncated,
    zonesVersion: next.zonesVersion,
  };
}
