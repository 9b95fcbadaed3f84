/**
 * A dispatch round's input, read from the live state: the zone's open orders (Redis open pool) and the
 * couriers around their pickups (Redis location index) who may take new work — fresh, not paused, no
 * open offer — with their committed work from Postgres (where and when they will be free after it).
 * Times in the snapshot are epoch seconds (dispatch/types.ts); the versions of the orders are kept
 * for the compare-and-set at commit.
 */
import type { CourierState, OrderRequest, ServiceTimes, Snapshot, TravelModel } from '../dispatch/types.js';
import { etaThroughStops, type LatLng } from '../domain/eta.js';
import type { Order } from '../domain/order.js';
import { Z75, type ReadyView } from '../domain/prep-time.js';
import type { PgOrderRepository } from '../store/pg/order-repository.js';
import type { CourierAvailabilityStore, CourierShift } from '../store/redis/courier-availability.js';
import type { CourierLocation, LocationIndex } from '../store/redis/location-index.js';
import { toOrderRequest, type OpenOrderEntry, type OpenOrderPool } from '../store/redis/open-orders.js';
import { cellToParent } from 'h3-js';
import { ZONE_RESOLUTION } from '../domain/geo.js';
import { remainingStops } from './courier-tasks.js';
import { cellsAround, dispatchZoneOf, poolZoneOverlaps } from './dispatch-zones.js';

/** A courier without a declared shift end is available this far ahead (a finite number keeps the arithmetic finite). */
const NO_SHIFT_END_S = 365 * 86_400;

export interface SnapshotSources {
  readonly pool: OpenOrderPool;
  readonly index: LocationIndex;
  readonly availability: CourierAvailabilityStore;
  readonly repo: PgOrderRepository;
}

export interface SnapshotOptions {
  readonly zoneResolution: number;
  readonly indexResolution: number;
  readonly staleAfterMs: number;
  readonly defaultCapacity: number;
  readonly travel: TravelModel<LatLng>;
  /** The travel model frozen for a round at `nowMs` (calibrated travel times); absent: `travel`. */
  readonly travelAt?: (nowMs: number) => TravelModel<LatLng>;
  readonly service: ServiceTimes;
  /** Couriers further than this from every pickup of the zone are left out. */
  readonly courierRadiusM: number;
  /**
   * Learned prep times (runtime/prep-times.ts): the ready time an order not yet ready is planned with.
   * Absent: the order's own readyAt (the store's estimate, or placement) as before.
   */
  readonly readyTimes?: ReadyTimes;
}

export interface ReadyTimes {
  view(o: { readonly storeId: string; readonly placedAt: number; readonly readyAt: number; readonly readyKnown: boolean }, nowMs: number): ReadyView;
}

/** The optimizer's view of an open order, its ready time estimated when not known (epoch seconds). */
export function plannedOrder(e: OpenOrderEntry, nowMs: number, readyTimes: ReadyTimes | undefined): OrderRequest<LatLng> {
  const req = toOrderRequest(e);
  if (!readyTimes) return req;
  const v = readyTimes.view(e, nowMs);
  return {
    ...req,
    readyAt: Math.floor(v.readyAt / 1000),
    // the optimizer's anticipatory dispatch (dispatch/ready-estimate.ts) wants a standard deviation: the
    // normal one with the same interquartile range as the learned (conditional) distribution
    ...(v.source === 'learned' && v.spreadS !== undefined && v.spreadS > 0 ? { readySpreadS: v.spreadS / Z75 } : {}),
    readyEstimate: {
      source: v.source,
      ...(v.medianS !== undefined ? { medianS: Math.round(v.medianS) } : {}),
      ...(v.spreadS !== undefined ? { spreadS: Math.round(v.spreadS) } : {}),
      ...(v.samples !== undefined ? { samples: v.samples } : {}),
    },
  };
}

/** A courier's committed orders with the ready time the rounds plan with (learned when not known). */
export function withPlannedReady(work: readonly Order[], nowMs: number, readyTimes: ReadyTimes | undefined): readonly Order[] {
  if (!readyTimes) return work;
  return work.map((o) => (o.readyKnown ? o : { ...o, readyAt: readyTimes.view(o, nowMs).readyAt }));
}

export interface RoundInput {
  readonly snapshot: Snapshot<LatLng>;
  /** Order id → the version the round plans with (compare-and-set at commit). */
  readonly versions: ReadonlyMap<string, number>;
}

/**
 * The dispatch zones that have open orders now (the pool is keyed by storage zone; see dispatch-zones.ts).
 * A dispatch zone no finer than the storage zone is its parent, so counting the pool zone's orders is
 * enough; a finer one needs each order's pickup. The rounds read the orders themselves.
 */
export async function zonesWithOpenOrders(pool: OpenOrderPool, zoneResolution: number, indexResolution: number): Promise<string[]> {
  const zones = new Set<string>();
  for (const poolZone of await pool.zones()) {
    if (zoneResolution <= ZONE_RESOLUTION) {
      if ((await pool.count(poolZone)) > 0) zones.add(cellToParent(poolZone, zoneResolution));
    } else {
      for (const e of await pool.snapshot(poolZone)) zones.add(dispatchZoneOf(e.pickup, zoneResolution, indexResolution));
    }
  }
  return [...zones].sort();
}

export async function openOrdersOf(pool: OpenOrderPool, zone: string, zoneResolution: number, indexResolution: number): Promise<OpenOrderEntry[]> {
  const out: OpenOrderEntry[] = [];
  for (const poolZone of await pool.zones()) {
    if (!poolZoneOverlaps(poolZone, zone)) continue;
    for (const e of await pool.snapshot(poolZone)) if (dispatchZoneOf(e.pickup, zoneResolution, indexResolution) === zone) out.push(e);
  }
  return out;
}

/** A courier as the optimizer sees it: free where and when its committed route ends. */
export function courierState(
  loc: Pick<CourierLocation, 'courierId' | 'lat' | 'lng'>,
  committed: readonly Order[],
  shift: CourierShift | undefined,
  nowMs: number,
  opts: Pick<SnapshotOptions, 'travel' | 'service' | 'defaultCapacity'>,
): CourierState<LatLng> {
  const nowS = Math.floor(nowMs / 1000);
  const here = { lat: loc.lat, lng: loc.lng };
  const etas = etaThroughStops(nowMs, here, remainingStops(committed, nowMs), opts.travel, opts.service);
  const last = etas.at(-1);
  return {
    id: loc.courierId,
    position: last ? { lat: last.place.lat, lng: last.place.lng } : here,
    freeAt: last ? Math.ceil(last.departAt / 1000) : nowS,
    shiftStart: nowS,
    shiftEnd: shift ? Math.floor(shift.endsAt / 1000) : nowS + NO_SHIFT_END_S,
    capacity: shift?.capacity ?? opts.defaultCapacity,
    status: committed.length > 0 ? 'busy' : 'free',
    ordersThisShift: 0,
  };
}

/**
 * The couriers around some pickups who may take new work now (fresh, not paused, no open offer), as the
 * optimizer sees them; `withoutOrder` is left out of their committed work (a preview of moving it).
 */
export async function couriersAround(
  pickups: readonly LatLng[],
  nowMs: number,
  src: SnapshotSources,
  opts: SnapshotOptions,
  withoutOrder?: string,
): Promise<CourierState<LatLng>[]> {
  if (pickups.length === 0) return [];
  const cells = cellsAround(pickups, opts.courierRadiusM, opts.indexResolution, opts.zoneResolution);
  const found = await src.index.inCells(cells, nowMs, opts.staleAfterMs);
  return availableCouriers(found, nowMs, src, opts, withoutOrder);
}

/**
 * Of the (fresh) couriers found, those who may take new work — not paused, no open offer — as the
 * optimizer sees them: free where and when their committed work ends. Shared by the dispatch rounds
 * and the quotes' supply picture.
 */
export async function availableCouriers(
  found: readonly CourierLocation[],
  nowMs: number,
  src: Pick<SnapshotSources, 'availability' | 'repo'>,
  opts: Pick<SnapshotOptions, 'travel' | 'service' | 'defaultCapacity' | 'readyTimes'>,
  withoutOrder?: string,
): Promise<CourierState<LatLng>[]> {
  const ids = found.map((c) => c.courierId);
  const [paused, offered, shifts, active] = await Promise.all([
    src.availability.pausedAmong(ids),
    src.repo.couriersWithOpenOffer(ids),
    src.availability.shifts(ids),
    src.repo.activeForCouriers(ids),
  ]);
  return found
    .filter((c) => !paused.has(c.courierId) && !offered.has(c.courierId))
    .map((c) => {
      const work = withPlannedReady((active.get(c.courierId) ?? []).filter((o) => o.id !== withoutOrder), nowMs, opts.readyTimes);
      return courierState(c, work, shifts.get(c.courierId), nowMs, opts);
    });
}

/** The snapshot's common frame around orders and couriers (times in epoch seconds). */
export function liveSnapshot(nowMs: number, orders: OrderRequest<LatLng>[], couriers: CourierState<LatLng>[], opts: SnapshotOptions): Snapshot<LatLng> {
  return {
    now: Math.floor(nowMs / 1000),
    orders,
    couriers,
    travel: opts.travelAt?.(nowMs) ?? opts.travel,
    service: opts.service,
    // live couriers' pay is not modelled yet: no guaranteed-pay arithmetic in the cost
    pay: { perOrder: 0, guaranteedPerHour: 0 },
  };
}

export async function buildRoundInput(zone: string, nowMs: number, src: SnapshotSources, opts: SnapshotOptions): Promise<RoundInput> {
  const entries = await openOrdersOf(src.pool, zone, opts.zoneResolution, opts.indexResolution);
  const orders: OrderRequest<LatLng>[] = entries.map((e) => plannedOrder(e, nowMs, opts.readyTimes));
  const versions = new Map(entries.map((e) => [e.id, e.version]));
  const couriers = await couriersAround(entries.map((e) => e.pickup), nowMs, src, opts);
  return { snapshot: liveSnapshot(nowMs, orders, couriers, opts), versions };
}
