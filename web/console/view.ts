/**
 * Pure readings of a console state: which orders and couriers the search and filters keep, the alerts
 * (orders predicted late, orders waiting too long, silent couriers with work) sorted by urgency, and the
 * words for why an order is still waiting. No DOM here, so the benchmark and the tests can call it.
 */
import { fmt, t, tMaybe } from '../shared/i18n';
import type { ConsoleCourier, ConsoleOrder, ConsoleState, DispatchSummary } from './types';

export const WAITING_STATUSES = ['placed', 'ready', 'offered'];
export const LIVE_ORDER_STATUSES = ['placed', 'ready', 'offered', 'assigned', 'at_pickup', 'picked_up', 'at_dropoff', 'returning'];

export interface Filters {
  /** Free text: order id, external id, store id or courier id (case-insensitive, substring). */
  query: string;
  /** '' (all), a status, 'waiting' or 'late'. */
  orderStatus: string;
  /** '' (all) or a courier status. */
  courierStatus: string;
}

export const isWaiting = (o: ConsoleOrder) => WAITING_STATUSES.includes(o.status);

/** Late now, or predicted to hand over after the promise. */
export function isLate(o: ConsoleOrder, now: number): boolean {
  return o.promisedBy < now || (o.etaDropoffAt != null && o.etaDropoffAt > o.promisedBy);
}

export function filterOrders(orders: readonly ConsoleOrder[], f: Filters, now: number): ConsoleOrder[] {
  const q = f.query.trim().toLowerCase();
  return orders.filter((o) => {
    if (f.orderStatus === 'waiting' ? !isWaiting(o) : f.orderStatus === 'late' ? !isLate(o, now) : f.orderStatus !== '' && o.status !== f.orderStatus) return false;
    if (!q) return true;
    return o.id.toLowerCase().includes(q) || o.externalId.toLowerCase().includes(q) || o.storeId.toLowerCase().includes(q) || (o.courierId ?? '').toLowerCase().includes(q);
  });
}

export function filterCouriers(couriers: readonly ConsoleCourier[], f: Filters): ConsoleCourier[] {
  const q = f.query.trim().toLowerCase();
  if (!q && !f.courierStatus) return couriers as ConsoleCourier[];
  return couriers.filter((c) => (!f.courierStatus || c.status === f.courierStatus) && (!q || c.courierId.toLowerCase().includes(q)));
}

export type AlertKind = 'late' | 'waiting' | 'stale';

export interface Alert {
  kind: AlertKind;
  /** The order it is about (for `stale`, the courier's oldest order), opened on click. */
  orderId: string | null;
  courierId: string | null;
  /** How far past its threshold, in ms: the list is sorted by it, largest first. */
  overdueMs: number;
  /** For the words: the order's external id, or the courier's id. */
  label: string;
  /** `late`: true when already past the promise (else predicted); `stale`: the courier's load. */
  now?: boolean;
  load?: number;
  /** `waiting`: the age that raises it. */
  thresholdMs?: number;
}

/** The alert in words (only the shown ones are put in words: there may be thousands). */
export function alertText(a: Alert): string {
  if (a.kind === 'late') return t(a.now ? 'alert.lateNow' : 'alert.latePredicted', { order: a.label, by: fmt.minutes(a.overdueMs) });
  if (a.kind === 'waiting') return t('alert.waiting', { order: a.label, age: fmt.minutes(a.overdueMs + (a.thresholdMs ?? 0)) });
  return t('alert.stale', { courier: a.courierId ?? '', load: a.load ?? 0, ago: fmt.minutes(a.overdueMs) });
}

/** Every alert of the state, most urgent first. */
export function alertsOf(state: ConsoleState, waitingAlertMs: number): Alert[] {
  const now = state.at;
  const out: Alert[] = [];
  const firstOrderOf = new Map<string, string>();
  for (const o of state.orders) {
    if (o.courierId && !firstOrderOf.has(o.courierId) && !isWaiting(o)) firstOrderOf.set(o.courierId, o.id);
    const predicted = o.etaDropoffAt ?? (isWaiting(o) ? null : now);
    if (o.promisedBy < now || (predicted !== null && predicted > o.promisedBy)) {
      const lateBy = Math.max(now, predicted ?? now) - o.promisedBy;
      out.push({ kind: 'late', orderId: o.id, courierId: o.courierId, overdueMs: lateBy, label: o.externalId, now: o.promisedBy < now });
    } else if (isWaiting(o) && o.ageMs >= waitingAlertMs) {
      out.push({ kind: 'waiting', orderId: o.id, courierId: null, overdueMs: o.ageMs - waitingAlertMs, label: o.externalId, thresholdMs: waitingAlertMs });
    }
  }
  for (const c of state.couriers) {
    if (c.status === 'offline' && c.load > 0) {
      out.push({ kind: 'stale', orderId: firstOrderOf.get(c.courierId) ?? null, courierId: c.courierId, overdueMs: now - c.lastSeenAt, label: c.courierId, load: c.load });
    }
  }
  return out.sort((a, b) => b.overdueMs - a.overdueMs);
}

/** "waiting: courier c12 frees up in 3 min", … from the latest dispatch decision; null when there is none. */
export function waitingReason(d: DispatchSummary | undefined, now: number): string | null {
  if (!d || d.decision !== 'waiting') return null;
  const n = d.nearest;
  const courier = n?.courierId ?? '';
  if (n?.freesAt !== undefined && n.freesAt > now && courier) return t('why.freesUp', { courier, in: fmt.minutes(n.freesAt - now) });
  const reason = d.reason ?? 'unknown';
  const params = { courier, in: n ? fmt.minutes(Math.max(0, n.etaPickupAt - now)) : '', reason };
  const text = tMaybe(`why.${reason}`, params);
  return text === `why.${reason}` ? t('why.other', params) : text;
}

/** Couriers nearest to a point (flat-earth distance is enough to rank a handful in one city). */
export function nearestCouriers(couriers: readonly ConsoleCourier[], lat: number, lng: number, n: number): ConsoleCourier[] {
  const k = Math.cos((lat * Math.PI) / 180);
  const d = (c: ConsoleCourier) => (c.lat - lat) ** 2 + ((c.lng - lng) * k) ** 2;
  return couriers
    .filter((c) => c.status === 'free' || c.status === 'busy')
    .map((c) => [d(c), c] as const)
    .sort((a, b) => a[0] - b[0])
    .slice(0, n)
    .map(([, c]) => c);
}
