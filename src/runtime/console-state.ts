/**
 * The dispatcher console's picture of the service at one instant (`{type:'state', …}`): couriers from
 * the live location index with status and load, orders still in play, H3 cells shaded by open orders
 * vs free couriers, and the KPIs (domain/kpis.ts). Built once per push and shared by every console
 * socket on this node. Times are the service clock's.
 */
import type { Redis } from 'ioredis';
import type { Pool } from 'pg';
import { cellToBoundary, latLngToCell } from 'h3-js';
import type { Clock } from '../clock.js';
import { consoleKpis, KPI_WINDOW_MS, type Kpis } from '../domain/kpis.js';
import { fleetKpis, type FleetKpis } from '../domain/fleet-kpis.js';
import { fleetKpiCounts } from '../store/pg/kpi-queries.js';
import { courierStatus, type CourierStatus } from '../domain/courier-status.js';
import type { Order } from '../domain/order.js';
import type { Zone } from '../domain/zones.js';
import type { LocationIndex } from '../store/redis/location-index.js';
import { courierLoads, deliveredBetween, liveOrders } from '../store/pg/console-queries.js';
import { CourierAvailabilityStore } from '../store/redis/courier-availability.js';
import { LatestDecisions } from '../store/redis/dispatch-decisions.js';
import type { DispatchDecision } from '../dispatch/decisions.js';
import { dropoffEta, etaThroughStops, type LatLng } from '../domain/eta.js';
import type { ServiceTimes, TravelModel } from '../dispatch/types.js';
import { remainingStops } from './courier-tasks.js';

/** H3 resolution of the console's supply/demand cells (~0.7 km², a few minutes' ride across). */
export const CONSOLE_CELL_RESOLUTION = 8;
export const CONSOLE_MAX_COURIERS = 5000;
export const CONSOLE_MAX_ORDERS = 2000;
const KPI_MAX_DELIVERIES = 50_000;

/** The one vocabulary (domain/courier-status.ts): a courier with an open offer is busy. */
export type ConsoleCourierStatus = CourierStatus;

export interface ConsoleCourier {
  readonly courierId: string;
  readonly lat: number;
  readonly lng: number;
  readonly status: ConsoleCourierStatus;
  /** Active orders (assigned … returning). */
  readonly load: number;
  /** Server time of the last accepted point. */
  readonly lastSeenAt: number;
}

export interface ConsoleOrder {
  readonly id: string;
  readonly externalId: string;
  readonly storeId: string;
  readonly status: Order['status'];
  readonly placedAt: number;
  readonly ageMs: number;
  readonly promisedBy: number;
  readonly courierId: string | null;
  readonly pickup: { lat: number; lng: number };
  readonly dropoff: { lat: number; lng: number };
  readonly pinned: boolean;
  readonly priority: number;
  /** The latest dispatch round's decision for an open order (why it waits, who is nearest). */
  readonly dispatch?: ConsoleDispatch;
  /**
   * Predicted hand-over instant for an order a courier has (its position through its remaining stops,
   * the optimizer's travel model), null while no courier has it or its courier's position is unknown.
   */
  readonly etaDropoffAt: number | null;
}

export type ConsoleDispatch = Pick<DispatchDecision, 'decision' | 'reason' | 'at' | 'courierId'> & {
  readonly nearest?: { courierId?: string; etaPickupAt: number; freesAt?: number };
};

/** The console's compact form of a decision. */
export function consoleDispatch(d: DispatchDecision): ConsoleDispatch {
  return {
    decision: d.decision,
    at: d.at,
    ...(d.reason ? { reason: d.reason } : {}),
    ...(d.courierId ? { courierId: d.courierId } : {}),
    ...(d.nearest ? { nearest: d.nearest } : {}),
  };
}

export interface ConsoleCell {
  readonly cell: string;
  readonly openOrders: number;
  readonly freeCouriers: number;
  /** Closed ring in GeoJSON (lng, lat) order. */
  readonly boundary: [number, number][];
}

export interface ConsoleState {
  readonly type: 'state';
  readonly at: number;
  readonly couriers: ConsoleCourier[];
  readonly orders: ConsoleOrder[];
  readonly cells: ConsoleCell[];
  /** The console KPIs over KPI_WINDOW_MS, and the same window split by fleet (own vs each carrier). */
  readonly kpis: Kpis & { readonly byFleet: FleetKpis[] };
  /** True when a list hit its bound and was cut. */
  readonly truncated: { couriers: boolean; orders: boolean };
  /**
   * Changes whenever a delivery zone is created, replaced or deleted (zonesVersion()): the page then
   * reloads GET /v1/zones and redraws them. The polygons themselves are not in every frame.
   */
  readonly zonesVersion: string;
}

/** A short fingerprint (FNV-1a, hex) of the zones' ids, versions and activity: equal lists give equal strings. */
export function zonesVersion(zones: readonly Pick<Zone, 'id' | 'updatedAt' | 'settings'>[]): string {
  let h = 0x811c9dc5;
  const text = zones.map((z) => `${z.id}:${z.updatedAt}:${z.settings.active ? 1 : 0}`).sort().join('|');
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return `${zones.length}-${h.toString(16)}`;
}

export interface ConsoleStateDeps {
  readonly redis: Redis;
  readonly db: Pool;
  readonly index: LocationIndex;
  readonly clock: Clock;
  readonly staleAfterMs: number;
  /** For the orders' ETAs; without them etaDropoffAt stays null. */
  readonly travel?: TravelModel<LatLng>;
  readonly service?: ServiceTimes;
  /** The currency own couriers' pay is counted in (config CURRENCY); default USD. */
  readonly currency?: string;
  /** The zone catalog's current fingerprint (zonesVersion of its zones); default '0'. */
  readonly zonesVersion?: () => string;
}

const WAITING: readonly Order['status'][] = ['placed', 'ready', 'offered'];

export function orderView(o: Order, now: number, decision?: DispatchDecision, etaDropoffAt: number | null = null): ConsoleOrder {
  return {
    id: o.id,
    externalId: o.externalId,
    storeId: o.storeId,
    status: o.status,
    placedAt: o.placedAt,
    ageMs: Math.max(0, now - o.placedAt),
    promisedBy: o.promisedBy,
    courierId: o.courierId,
    pickup: { lat: o.pickup.lat, lng: o.pickup.lng },
    dropoff: { lat: o.dropoff.lat, lng: o.dropoff.lng },
    pinned: o.pinned,
    priority: o.priority,
    etaDropoffAt,
    ...(decision ? { dispatch: consoleDispatch(decision) } : {}),
  };
}

/** Each courier-held order's predicted hand-over, through its courier's remaining stops. */
export function dropoffEtas(orders: readonly Order[], couriers: readonly ConsoleCourier[], deps: Pick<ConsoleStateDeps, 'travel' | 'service'>, now: number): Map<string, number> {
  const out = new Map<string, number>();
  if (!deps.travel || !deps.service) return out;
  const byCourier = new Map<string, Order[]>();
  for (const o of orders) {
    if (!o.courierId || o.status === 'offered' || WAITING.includes(o.status)) continue;
    const list = byCourier.get(o.courierId) ?? [];
    list.push(o);
    byCourier.set(o.courierId, list);
  }
  const where = new Map(couriers.map((c) => [c.courierId, c]));
  for (const [courierId, held] of byCourier) {
    const c = where.get(courierId);
    if (!c) continue;
    const etas = etaThroughStops(now, { lat: c.lat, lng: c.lng }, remainingStops(held, now), deps.travel, deps.service);
    for (const o of held) {
      const eta = dropoffEta(etas, o.id);
      if (eta !== null) out.set(o.id, eta);
    }
  }
  return out;
}

/**
 * Every courier of the live location index (at most CONSOLE_MAX_COURIERS) with its dispatch status;
 * `offered` names the couriers with an open offer. Also behind the `couriers{status}` metric.
 */
export async function liveCouriers(deps: ConsoleStateDeps, now: number, offered: ReadonlySet<string>): Promise<ConsoleCourier[]> {
  const [locations, loads] = await Promise.all([deps.index.list(CONSOLE_MAX_COURIERS), courierLoads(deps.db)]);
  const paused = await new CourierAvailabilityStore(deps.redis).pausedAmong(locations.map((l) => l.courierId));
  return locations
    .map((l) => {
      const load = loads.get(l.courierId) ?? 0;
      const status = courierStatus({
        stale: now - l.serverTs > deps.staleAfterMs,
        paused: paused.has(l.courierId),
        hasOpenOffer: offered.has(l.courierId),
        load,
      });
      return { courierId: l.courierId, lat: l.lat, lng: l.lng, status, load, lastSeenAt: l.serverTs };
    })
    .sort((a, b) => (a.courierId < b.courierId ? -1 : a.courierId > b.courierId ? 1 : 0));
}

export async function buildConsoleState(deps: ConsoleStateDeps): Promise<ConsoleState> {
  const now = deps.clock.now();
  const [orders, delivered, fleets] = await Promise.all([
    liveOrders(deps.db, CONSOLE_MAX_ORDERS + 1),
    deliveredBetween(deps.db, now - KPI_WINDOW_MS, now, KPI_MAX_DELIVERIES),
    fleetKpiCounts(deps.db, now - KPI_WINDOW_MS, now + 1),
  ]);
  const offered = new Set(orders.filter((o) => o.status === 'offered' && o.courierId).map((o) => o.courierId!));
  const couriers = await liveCouriers(deps, now, offered);

  const shown = orders.slice(0, CONSOLE_MAX_ORDERS);
  const decisions = await new LatestDecisions(deps.redis).many(shown.filter((o) => WAITING.includes(o.status)).map((o) => o.id));
  const cells = new Map<string, { openOrders: number; freeCouriers: number }>();
  const bump = (lat: number, lng: number, field: 'openOrders' | 'freeCouriers') => {
    const cell = latLngToCell(lat, lng, CONSOLE_CELL_RESOLUTION);
    const c = cells.get(cell) ?? { openOrders: 0, freeCouriers: 0 };
    c[field]++;
    cells.set(cell, c);
  };
  for (const o of shown) if (o.status === 'placed' || o.status === 'ready') bump(o.pickup.lat, o.pickup.lng, 'openOrders');
  for (const c of couriers) if (c.status === 'free') bump(c.lat, c.lng, 'freeCouriers');
  const etas = dropoffEtas(shown, couriers, deps, now);

  return {
    type: 'state',
    at: now,
    couriers,
    orders: shown.map((o) => orderView(o, now, decisions.get(o.id), etas.get(o.id) ?? null)),
    cells: [...cells].map(([cell, counts]) => ({ cell, ...counts, boundary: cellToBoundary(cell, true) as [number, number][] })),
    kpis: {
      ...consoleKpis({
        now,
        windowMs: KPI_WINDOW_MS,
        delivered,
        waitingPlacedAt: shown.filter((o) => WAITING.includes(o.status)).map((o) => o.placedAt),
        activeCouriers: couriers.filter((c) => c.status !== 'offline').length,
      }),
      byFleet: fleetKpis(fleets, deps.currency ?? 'USD'),
    },
    truncated: { couriers: couriers.length >= CONSOLE_MAX_COURIERS, orders: orders.length > CONSOLE_MAX_ORDERS },
    zonesVersion: deps.zonesVersion?.() ?? '0',
  };
}
