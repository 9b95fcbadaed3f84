/**
 * Stop sequencing and ETAs for one courier serving one bundle (orders of one pickup), under the MDRP rules:
 * the courier leaves at max(now, freeAt, shiftStart) and drives to the pickup; pickup instant =
 * max(arrival + pickupS/2, latest ready time), leave pickupS/2 later; each drop-off instant =
 * arrival + dropoffS/2, leave dropoffS/2 later. The pickup must happen by the courier's shift end.
 */
import type { CourierState, OrderRequest, ServiceTimes, Stop, TravelModel } from './types.js';

export interface RouteContext<P> {
  readonly now: number;
  readonly travel: TravelModel<P>;
  readonly service: ServiceTimes;
}

export interface Route<P> {
  /** Orders in delivery sequence. */
  readonly orders: readonly OrderRequest<P>[];
  readonly pickup: P;
  /** When the courier sets off towards the pickup, and when it gets there. */
  readonly startAt: number;
  readonly arriveAt: number;
  readonly pickupAt: number;
  /** Drop-off instant of each order, same sequence as `orders`. */
  readonly dropAt: readonly number[];
  /** Arrival at each customer, same sequence. */
  readonly dropArriveAt: readonly number[];
  /** Driving seconds, courier position → pickup → last drop-off. */
  readonly travelS: number;
  /** Seconds waiting at the pickup for food beyond the service time. */
  readonly waitS: number;
  /** When the courier leaves the last drop-off, and where it then is. */
  readonly endAt: number;
  readonly endPlace: P;
}

/** Bundles up to this size get every drop-off order tried; larger ones use cheapest insertion. */
const EXHAUSTIVE_SEQUENCE_LIMIT = 5;

export function startTime<P>(courier: CourierState<P>, now: number): number {
  return Math.max(now, courier.freeAt, courier.shiftStart);
}

/** Returns null when the courier cannot serve the bundle (capacity or pickup after shift end). */
export function planRoute<P>(
  courier: CourierState<P>,
  orders: readonly OrderRequest<P>[],
  ctx: RouteContext<P>,
): Route<P> | null {
  if (orders.length === 0) return null;
  let size = 0;
  let readyAt = -Infinity;
  for (const o of orders) {
    size += o.size;
    if (o.readyAt > readyAt) readyAt = o.readyAt;
  }
  if (size > courier.capacity) return null;
  const halfPickup = ctx.service.pickupS / 2;
  const pickup = orders[0].pickup;
  const startAt = startTime(courier, ctx.now);
  const toPickup = ctx.travel.seconds(courier.position, pickup);
  const arriveAt = startAt + toPickup;
  const pickupAt = Math.max(arriveAt + halfPickup, readyAt);
  if (pickupAt > courier.shiftEnd) return null;
  const leavePickup = pickupAt + halfPickup;
  const sequence = orders.length === 1 ? orders : sequenceDropoffs(orders, pickup, leavePickup, ctx);
  const halfDrop = ctx.service.dropoffS / 2;
  const dropAt: number[] = [];
  const dropArriveAt: number[] = [];
  let t = leavePickup;
  let place = pickup;
  let travelS = toPickup;
  for (const o of sequence) {
    const leg = ctx.travel.seconds(place, o.dropoff);
    travelS += leg;
    const arrive = t + leg;
    const at = arrive + halfDrop;
    t = at + halfDrop;
    place = o.dropoff;
    dropArriveAt.push(arrive);
    dropAt.push(at);
  }
  return {
    orders: sequence,
    pickup,
    startAt,
    arriveAt,
    pickupAt,
    dropAt,
    dropArriveAt,
    travelS,
    waitS: pickupAt - (arriveAt + halfPickup),
    endAt: t,
    endPlace: place,
  };
}

/**
 * The route's stops with ETAs (built only for routes that make it into the plan: candidates are many).
 */
export function stopsOf<P>(route: Route<P>, service: ServiceTimes): Stop<P>[] {
  const halfPickup = service.pickupS / 2;
  const halfDrop = service.dropoffS / 2;
  const stops: Stop<P>[] = [
    {
      kind: 'pickup',
      orderIds: route.orders.map((o) => o.id),
      place: route.pickup,
      arriveAt: route.arriveAt,
      serviceAt: route.pickupAt,
      departAt: route.pickupAt + halfPickup,
    },
  ];
  route.orders.forEach((o, i) => {
    stops.push({
      kind: 'dropoff',
      orderIds: [o.id],
      place: o.dropoff,
      arriveAt: route.dropArriveAt[i],
      serviceAt: route.dropAt[i],
      departAt: route.dropAt[i] + halfDrop,
    });
  });
  return stops;
}

/** Sum of drop-off instants for a sequence leaving `from` at `t0` (what the sequence minimises). */
function sequenceScore<P>(seq: readonly OrderRequest<P>[], from: P, t0: number, ctx: RouteContext<P>): number {
  const service = ctx.service.dropoffS;
  let t = t0;
  let place = from;
  let sum = 0;
  for (const o of seq) {
    t += ctx.travel.seconds(place, o.dropoff) + service / 2;
    sum += t - o.placedAt;
    t += service / 2;
    place = o.dropoff;
  }
  return sum;
}

/** Drop-off order minimising total click-to-door; exhaustive for small bundles, cheapest insertion above. */
export function sequenceDropoffs<P>(
  orders: readonly OrderRequest<P>[],
  from: P,
  t0: number,
  ctx: RouteContext<P>,
): OrderRequest<P>[] {
  const base = [...orders].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (base.length <= EXHAUSTIVE_SEQUENCE_LIMIT) {
    let best = base.slice();
    let bestScore = sequenceScore(best, from, t0, ctx);
    permute(base, (perm) => {
      const s = sequenceScore(perm, from, t0, ctx);
      if (s < bestScore) {
        bestScore = s;
        best = perm.slice();
      }
    });
    return best;
  }
  const seq: OrderRequest<P>[] = [];
  for (const o of base) {
    let bestAt = seq.length;
    let bestScore = Infinity;
    for (let i = 0; i <= seq.length; i++) {
      seq.splice(i, 0, o);
      const s = sequenceScore(seq, from, t0, ctx);
      seq.splice(i, 1);
      if (s < bestScore) {
        bestScore = s;
        bestAt = i;
      }
    }
    seq.splice(bestAt, 0, o);
  }
  return seq;
}

/** Heap's algorithm: calls visit with every permutation of items (mutated in place). */
function permute<T>(items: T[], visit: (perm: readonly T[]) => void): void {
  const a = items.slice();
  const c = new Array<number>(a.length).fill(0);
  visit(a);
  let i = 0;
  while (i < a.length) {
    if (c[i] < i) {
      const j = i % 2 === 0 ? 0 : c[i];
      [a[j], a[i]] = [a[i], a[j]];
      visit(a);
      c[i]++;
      i = 0;
    } else {
      c[i] = 0;
      i++;
    }
  }
}
