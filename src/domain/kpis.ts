/**
 * The dispatcher console's KPIs, pure (times in epoch ms of the service clock, passed in).
 *
 * - on-time %: deliveries in the window handed over no later than promised.
 * - click-to-door p50/p90: placement → delivery, nearest-rank percentiles, in minutes.
 * - waiting: orders without a courier yet (placed, ready, offered) and the age of the oldest one.
 * - active couriers: couriers with a fresh position (not stale).
 * - cost per order: own couriers' pay ÷ their deliveries (a carrier's cost: domain/fleet-kpis.ts), with the MDRP pay rules (per courier the larger of
 *   $10 per delivered order and a guaranteed $15 per hour worked). A courier's hours in the window run
 *   from the start of its first assignment among those deliveries (not before the window starts) to
 *   its last delivery: time spent idle before or after is not counted, so this is a lower estimate of
 *   what the guarantee costs.
 */

export const PAY_PER_ORDER = 10;
export const GUARANTEED_PAY_PER_HOUR = 15;
/** How far back the delivery KPIs look. */
export const KPI_WINDOW_MS = 3 * 3_600_000;

export interface DeliveredOrder {
  readonly courierId: string | null;
  readonly placedAt: number;
  readonly promisedBy: number;
  readonly deliveredAt: number;
  /** Start of the assignment that delivered it (null when unknown). */
  readonly assignedAt: number | null;
  /** Who delivered it: 'own' (also when absent) or a carrier's name (domain/fleet-kpis.ts). */
  readonly fleet?: string;
}

export interface KpiInput {
  readonly now: number;
  readonly windowMs: number;
  readonly delivered: readonly DeliveredOrder[];
  /** Placement times of the orders still waiting for a courier. */
  readonly waitingPlacedAt: readonly number[];
  readonly activeCouriers: number;
}

export interface Kpis {
  readonly windowMs: number;
  readonly delivered: number;
  /** 0..100, null without deliveries. */
  readonly onTimePct: number | null;
  readonly clickToDoorP50Min: number | null;
  readonly clickToDoorP90Min: number | null;
  readonly waiting: number;
  readonly oldestWaitingMin: number | null;
  readonly activeCouriers: number;
  /** Own couriers' pay per delivery by own couriers, dollars; null without such deliveries (carriers: fleet-kpis.ts). */
  readonly costPerOrder: number | null;
}

/** Nearest-rank percentile (p in 0..1) of unsorted values; null when empty. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(p * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1]!;
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const minutes = (ms: number | null) => (ms === null ? null : round1(ms / 60_000));

/** One courier's work behind a set of deliveries: how many, from the first assignment to the last delivery. */
export interface CourierShift {
  readonly courierId: string;
  readonly orders: number;
  readonly start: number;
  readonly end: number;
}

/** The courier shifts behind a list of deliveries: each starts at its assignment (or placement), not before `windowStart`. */
export function shiftsOf(delivered: readonly DeliveredOrder[], windowStart: number): { shifts: CourierShift[]; unattributed: number } {
  const byCourier = new Map<string, { courierId: string; orders: number; start: number; end: number }>();
  let unattributed = 0;
  for (const d of delivered) {
    if (d.courierId === null) {
      unattributed++;
      continue;
    }
    const start = Math.max(windowStart, d.assignedAt ?? d.placedAt);
    const c = byCourier.get(d.courierId);
    if (c) {
      c.orders++;
      c.start = Math.min(c.start, start);
      c.end = Math.max(c.end, d.deliveredAt);
    } else {
      byCourier.set(d.courierId, { courierId: d.courierId, orders: 1, start, end: d.deliveredAt });
    }
  }
  return { shifts: [...byCourier.values()], unattributed };
}

/** Pay for those shifts: per courier the larger of the per-order pay and the hourly guarantee; deliveries without a courier per order. */
export function shiftPay(shifts: readonly CourierShift[], unattributed: number): number {
  let pay = unattributed * PAY_PER_ORDER;
  for (const c of shifts) {
    const hours = Math.max(0, c.end - c.start) / 3_600_000;
    pay += Math.max(c.orders * PAY_PER_ORDER, hours * GUARANTEED_PAY_PER_HOUR);
  }
  return pay;
}

/** Courier pay for the deliveries of the window (see the module comment for the hours rule). */
export function courierPay(delivered: readonly DeliveredOrder[], windowStart: number): number {
  const { shifts, unattributed } = shiftsOf(delivered, windowStart);
  return shiftPay(shifts, unattributed);
}

export function consoleKpis(input: KpiInput): Kpis {
  const { now, windowMs, delivered } = input;
  const windowStart = now - windowMs;
  const inWindow = delivered.filter((d) => d.deliveredAt >= windowStart && d.deliveredAt <= now);
  const n = inWindow.length;
  const onTime = inWindow.filter((d) => d.deliveredAt <= d.promisedBy).length;
  const clickToDoor = inWindow.map((d) => d.deliveredAt - d.placedAt);
  const oldest = input.waitingPlacedAt.length ? Math.min(...input.waitingPlacedAt) : null;
  // a carrier's deliveries are paid by what the carrier charged, in its currency: not in this number
  const own = inWindow.filter((d) => (d.fleet ?? 'own') === 'own');
  return {
    windowMs,
    delivered: n,
    onTimePct: n ? round1((100 * onTime) / n) : null,
    clickToDoorP50Min: minutes(percentile(clickToDoor, 0.5)),
    clickToDoorP90Min: minutes(percentile(clickToDoor, 0.9)),
    waiting: input.waitingPlacedAt.length,
    oldestWaitingMin: oldest === null ? null : minutes(Math.max(0, now - oldest)),
    activeCouriers: input.activeCouriers,
    costPerOrder: own.length ? Math.round((100 * courierPay(own, windowStart)) / own.length) / 100 : null,
  };
}
