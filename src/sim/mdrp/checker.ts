/**
 * Feasibility checker for written MDRP solutions: the public evaluator's eight checks (data README),
 * applied to the files as read back, plus a few consistency checks the evaluator takes for granted.
 * It shares only the travel rule with the simulator, so a simulator bug shows up here.
 */
import type { MdrpInstance, MdrpPlace } from './instance.js';
import { travelMinutes } from './rules.js';
import { ON_LOCATION, parseSolution, readSolutionTexts, type SolutionTexts } from './solution.js';

export type ViolationCode =
  // The evaluator's eight checks.
  | 'ORDER_IN_SEVERAL_ASSIGNMENTS'
  | 'ASSIGNED_BEFORE_PLACEMENT'
  | 'PICKUP_AFTER_OFF_TIME'
  | 'PICKUP_BEFORE_READY'
  | 'DROPOFF_OUT_OF_SEQUENCE'
  | 'MOVES_DISCONTINUOUS'
  | 'NOT_AT_RESTAURANT_AT_PICKUP'
  | 'NOT_AT_CUSTOMER_AT_DROPOFF'
  // Consistency the evaluator assumes.
  | 'SOLUTION_MALFORMED'
  | 'UNKNOWN_ID'
  | 'BUNDLE_SPANS_RESTAURANTS'
  | 'ORDER_LINE_INCONSISTENT';

export interface Violation {
  readonly code: ViolationCode;
  readonly message: string;
}

export function checkSolutionDir(instance: MdrpInstance, dir: string): Violation[] {
  return checkSolution(instance, readSolutionTexts(dir));
}

export function checkSolution(instance: MdrpInstance, texts: SolutionTexts): Violation[] {
  const { params } = instance;
  const solution = parseSolution(texts);
  const violations: Violation[] = [];
  const add = (code: ViolationCode, message: string) => violations.push({ code, message });

  for (const m of solution.malformed) add('SOLUTION_MALFORMED', `${m.file}:${m.line}: ${m.why}: "${m.text}"`);

  const orders = new Map(instance.orders.map((o) => [o.id, o]));
  const couriers = new Map(instance.couriers.map((c) => [c.id, c]));
  const places = new Map<string, MdrpPlace>();
  for (const r of instance.restaurants.values()) places.set(r.id, r);
  for (const o of instance.orders) places.set(o.id, o.customer);
  for (const c of instance.couriers) places.set(c.id, c.start);

  // 1. Each order in at most one assignment (and assignments name known couriers and orders).
  const assignmentOf = new Map<string, (typeof solution.assignments)[number]>();
  for (const a of solution.assignments) {
    if (!couriers.has(a.courierId)) add('UNKNOWN_ID', `assignment line ${a.line}: unknown courier ${a.courierId}`);
    for (const id of a.orderIds) {
      if (!orders.has(id)) add('UNKNOWN_ID', `assignment line ${a.line}: unknown order ${id}`);
      else if (assignmentOf.has(id)) add('ORDER_IN_SEVERAL_ASSIGNMENTS', `order ${id} is in assignment lines ${assignmentOf.get(id)!.line} and ${a.line}`);
      else assignmentOf.set(id, a);
    }
  }

  for (const a of solution.assignments) {
    const known = a.orderIds.map((id) => orders.get(id)).filter((o) => o !== undefined);
    // 2. No assignment before its orders are placed.
    for (const o of known) {
      if (a.assignmentTime < o.placementTime) {
        add('ASSIGNED_BEFORE_PLACEMENT', `assignment line ${a.line}: ${o.id} assigned at ${a.assignmentTime}, placed at ${o.placementTime}`);
      }
    }
    // 3. Pickup no later than the courier's off_time.
    const courier = couriers.get(a.courierId);
    if (courier && a.pickupTime > courier.offTime) {
      add('PICKUP_AFTER_OFF_TIME', `assignment line ${a.line}: pickup at ${a.pickupTime}, ${courier.id} goes off at ${courier.offTime}`);
    }
    // 4. Pickup at or after every ready time.
    for (const o of known) {
      if (a.pickupTime < o.readyTime) add('PICKUP_BEFORE_READY', `assignment line ${a.line}: pickup at ${a.pickupTime}, ${o.id} ready at ${o.readyTime}`);
    }
    if (new Set(known.map((o) => o.restaurantId)).size > 1) {
      add('BUNDLE_SPANS_RESTAURANTS', `assignment line ${a.line}: orders from ${[...new Set(known.map((o) => o.restaurantId))].join(', ')}`);
    }
  }

  const orderLines = new Map(solution.orders.map((l) => [l.orderId, l]));
  for (const l of solution.orders) {
    const o = orders.get(l.orderId);
    if (!o) {
      add('UNKNOWN_ID', `orders line ${l.line}: unknown order ${l.orderId}`);
      continue;
    }
    const a = assignmentOf.get(l.orderId);
    const delivered = !Number.isNaN(l.dropoffTime);
    if (l.placementTime !== o.placementTime || l.readyTime !== o.readyTime) {
      add('ORDER_LINE_INCONSISTENT', `orders line ${l.line}: ${o.id} placement/ready ${l.placementTime}/${l.readyTime}, instance says ${o.placementTime}/${o.readyTime}`);
    }
    if (delivered && (!a || a.courierId !== l.courierId || a.pickupTime !== l.pickupTime)) {
      add('ORDER_LINE_INCONSISTENT', `orders line ${l.line}: ${o.id} delivered by ${l.courierId} picked up at ${l.pickupTime}, which no assignment matches`);
    }
    if (!delivered && a) add('ORDER_LINE_INCONSISTENT', `orders line ${l.line}: ${o.id} is assigned (line ${a.line}) but has no drop-off time`);
  }

  // 5. Drop-offs follow the bundle's sequence, a full drop-off service apart.
  for (const a of solution.assignments) {
    let previous: number | undefined;
    for (const id of a.orderIds) {
      const drop = orderLines.get(id)?.dropoffTime;
      if (drop === undefined || Number.isNaN(drop)) {
        if (orders.has(id)) add('DROPOFF_OUT_OF_SEQUENCE', `assignment line ${a.line}: ${id} has no drop-off time`);
        continue;
      }
      if (previous !== undefined && drop < previous + params.dropoffServiceMin) {
        add('DROPOFF_OUT_OF_SEQUENCE', `assignment line ${a.line}: ${id} dropped at ${drop}, previous drop-off at ${previous}`);
      }
      previous = drop;
    }
  }

  // 6. Moves continuous in place and time, with the travel-time rule; from on_time on.
  const timelines = new Map<string, { times: number[]; places: string[] }>();
  for (const m of solution.moves) {
    const courier = couriers.get(m.courierId);
    if (!courier) {
      add('UNKNOWN_ID', `couriers line ${m.line}: unknown courier ${m.courierId}`);
      continue;
    }
    let tl = timelines.get(courier.id);
    if (!tl) timelines.set(courier.id, (tl = { times: [courier.onTime], places: [courier.id] }));
    const origin = m.origin === ON_LOCATION ? courier.id : m.origin;
    const from = places.get(origin);
    const to = places.get(m.destination);
    if (!from || !to) {
      add('UNKNOWN_ID', `couriers line ${m.line}: unknown place ${!from ? m.origin : m.destination}`);
      continue;
    }
    const here = tl.places[tl.places.length - 1]!;
    if (origin !== here) add('MOVES_DISCONTINUOUS', `couriers line ${m.line}: ${courier.id} departs from ${m.origin} but is at ${here}`);
    const last = tl.times[tl.times.length - 1]!;
    if (m.departureTime < last) {
      add('MOVES_DISCONTINUOUS', `couriers line ${m.line}: ${courier.id} departs at ${m.departureTime}, before ${last} (on_time or previous arrival)`);
    }
    tl.times.push(m.departureTime, m.departureTime + travelMinutes(from, to, params.metersPerMinute));
    tl.places.push('', m.destination);
  }
  // Where the courier is at time t: the place of its last timeline event strictly before t (as the evaluator).
  const placeAt = (courierId: string, t: number): string | undefined => {
    const tl = timelines.get(courierId);
    if (!tl) return undefined;
    let i = -1;
    while (i + 1 < tl.times.length && tl.times[i + 1]! < t) i++;
    return i >= 0 ? tl.places[i] : undefined;
  };

  // 7. At the restaurant at each pickup.
  for (const a of solution.assignments) {
    const o = orders.get(a.orderIds[0] ?? '');
    if (!o) continue;
    const at = placeAt(a.courierId, a.pickupTime);
    if (at !== o.restaurantId) {
      add('NOT_AT_RESTAURANT_AT_PICKUP', `assignment line ${a.line}: ${a.courierId} is at ${at || 'nowhere (moving)'} at ${a.pickupTime}, not ${o.restaurantId}`);
    }
  }
  // 8. At the customer at each drop-off.
  for (const l of solution.orders) {
    if (Number.isNaN(l.dropoffTime) || !l.courierId || !orders.has(l.orderId)) continue;
    const at = placeAt(l.courierId, l.dropoffTime);
    if (at !== l.orderId) {
      add('NOT_AT_CUSTOMER_AT_DROPOFF', `orders line ${l.line}: ${l.courierId} is at ${at || 'nowhere (moving)'} at ${l.dropoffTime}, not ${l.orderId}`);
    }
  }
  return violations;
}
