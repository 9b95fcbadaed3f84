/**
 * The time-vs-cost knob applied to one route. See policy.ts for the formula and docs/optimizer.md for
 * how sweeping `timeWeight` traces the frontier.
 */
import type { CostBreakdown, CourierState, PayRules, Policy } from './types.js';
import type { Route } from './route.js';
import { NO_SCARCITY, type CourierTimePrice } from './scarcity.js';

/** Extra pay caused by giving `extraOrders` more orders to a courier (zero while under the hourly guarantee). */
export function marginalPay<P>(courier: CourierState<P>, extraOrders: number, pay: PayRules): number {
  const guaranteed = (pay.guaranteedPerHour * Math.max(0, courier.shiftEnd - courier.shiftStart)) / 3600;
  const before = Math.max(pay.perOrder * courier.ordersThisShift, guaranteed);
  const after = Math.max(pay.perOrder * (courier.ordersThisShift + extraOrders), guaranteed);
  return after - before;
}

/**
 * `courierTime` prices courier seconds when couriers are short (scarcity.ts); both prices are 0 when
 * they are not.
 */
export function routeCost<P>(
  route: Route<P>,
  courier: CourierState<P>,
  pay: PayRules,
  policy: Policy,
  courierTime: CourierTimePrice = NO_SCARCITY,
): CostBreakdown {
  let clickToDoorS = 0;
  let latenessS = 0;
  route.orders.forEach((o, i) => {
    const at = route.dropAt[i];
    clickToDoorS += at - o.placedAt;
    const late = Math.max(0, at - o.promisedBy);
    const early = o.window ? Math.max(0, o.window.from - at) : 0;
    latenessS += late + early;
  });
  const timeSide = policy.clickToDoorWeight * clickToDoorS + policy.latenessWeight * latenessS;
  const costSide =
    policy.courierSecondWeight * route.travelS +
    policy.idleWeight * route.waitS +
    policy.payWeight * marginalPay(courier, route.orders.length, pay);
  const total =
    policy.timeWeight * timeSide +
    (1 - policy.timeWeight) * costSide +
    courierTime.emptyTravelS * (route.arriveAt - route.startAt) +
    courierTime.busyS * (route.endAt - route.startAt);
  return { clickToDoorS, latenessS, travelS: route.travelS, waitS: route.waitS, total };
}
