/**
 * A courier's current work, on the node that holds its socket: what the task frame shows (re-sent on
 * every connect, and whenever the work changes), the status frames the courier sends (arrived at
 * pickup, picked up, arrived at drop-off, delivered with optional proof, returned), and what each
 * accepted location point triggers: geofence auto-arrival and tracking frames (position + ETA) to the
 * customers of the courier's orders, via pub/sub so tracking sockets on any node get them.
 */
import { cellToLatLng, latLngToCell } from 'h3-js';
import type { BaseLogger } from 'pino';
import type { Clock } from '../clock.js';
import type { ServiceTimes, TravelModel } from '../dispatch/types.js';
import { dropoffEta, etaThroughStops, type LatLng, type RemainingStop, type StopEta } from '../domain/eta.js';
import { initialGeofence, stepGeofence, type Fix, type GeofenceParams, type GeofenceState } from '../domain/geofence.js';
import { ACTIVE_STATUSES, type Actor, type DeliveryProof, type FailureReason, type Order, type OrderEventInput } from '../domain/order.js';
import type { PgOrderRepository } from '../store/pg/order-repository.js';
import { channels, type MessageBus } from '../store/redis/pubsub.js';
import type { OrderLifecycle } from './order-lifecycle.js';

type Logger = Pick<BaseLogger, 'debug' | 'info' | 'warn' | 'error'>;

/** H3 resolution the customer sees before pickup (~0.7 km² cells): near, not exact. */
export const TRACKING_COARSE_RESOLUTION = 8;

export type CourierStatusUpdate = 'arrived_pickup' | 'picked_up' | 'arrived_dropoff' | 'delivered' | 'returned' | 'failed';

/** What the courier app sees of an order. */
export interface CourierOrderView {
  readonly id: string;
  readonly externalId: string;
  readonly status: Order['status'];
  readonly version: number;
  readonly pickup: Order['pickup'];
  readonly dropoff: Order['dropoff'];
  readonly items: number;
  readonly readyAt: number;
  readonly promisedBy: number;
  readonly pinRequired: boolean;
}

export interface TaskFrame {
  readonly type: 'task';
  readonly orders: readonly CourierOrderView[];
  readonly stops: readonly (StopEta & { readonly arrived: boolean })[];
}

/** Pushed on `track:{orderId}` for every accepted courier point. */
export interface TrackPositionMessage {
  readonly type: 'position';
  readonly orderId: string;
  readonly status: Order['status'];
  readonly lat: number;
  readonly lng: number;
  /** True before pickup: the position is the centre of the courier's H3 cell, not the courier itself. */
  readonly coarse: boolean;
  /** Expected hand-over, epoch ms (null when the order is not on its way). */
  readonly eta: number | null;
  readonly at: number;
}

export interface CourierTasksOptions {
  readonly travel: TravelModel<LatLng>;
  readonly service: ServiceTimes;
  readonly geofence: GeofenceParams;
}

interface Session {
  orders: Order[];
  geofences: Map<string, GeofenceState>;
  sockets: number;
  unsubscribe: (() => Promise<void>) | null;
  refreshing: Promise<void> | null;
  last: LatLng | null;
  /** The point being followed (arrivals, tracking); the next one waits for it, so positions stay in order. */
  following: Promise<void> | null;
}

export function courierView(o: Order): CourierOrderView {
  return {
    id: o.id,
    externalId: o.externalId,
    status: o.status,
    version: o.version,
    pickup: o.pickup,
    dropoff: o.dropoff,
    items: o.items,
    readyAt: o.readyAt,
    promisedBy: o.promisedBy,
    pinRequired: o.pin !== null,
  };
}

/** The stops still ahead: pickups of orders not picked up yet, then their drop-offs (returns go back to the pickup). */
export function remainingStops(orders: readonly Order[], now: number): RemainingStop[] {
  const pickups: RemainingStop[] = [];
  const dropoffs: RemainingStop[] = [];
  for (const o of orders) {
    if (o.status === 'assigned' || o.status === 'at_pickup') {
      pickups.push({ kind: 'pickup', orderIds: [o.id], place: o.pickup, readyAt: o.readyAt, ...(o.status === 'at_pickup' ? { arrivedAt: now } : {}) });
      dropoffs.push({ kind: 'dropoff', orderIds: [o.id], place: o.dropoff });
    } else if (o.status === 'picked_up' || o.status === 'at_dropoff') {
      dropoffs.push({ kind: 'dropoff', orderIds: [o.id], place: o.dropoff, ...(o.status === 'at_dropoff' ? { arrivedAt: now } : {}) });
    } else if (o.status === 'returning') {
      dropoffs.push({ kind: 'pickup', orderIds: [o.id], place: o.pickup });
    }
  }
  return [...pickups, ...dropoffs];
}

export function coarsen(p: LatLng): LatLng {
  const [lat, lng] = cellToLatLng(latLngToCell(p.lat, p.lng, TRACKING_COARSE_RESOLUTION));
  return { lat, lng };
}

export class CourierTasks {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly lifecycle: OrderLifecycle,
    private readonly repo: PgOrderRepository,
    private readonly bus: MessageBus,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: CourierTasksOptions,
  ) {}

  /** The task frame for a courier, computed from Postgres and the courier's last position. */
  async task(courierId: string, from?: LatLng | null): Promise<TaskFrame> {
    const orders = await this.repo.activeForCourier(courierId);
    return this.taskOf(orders, from ?? this.sessions.get(courierId)?.last ?? null);
  }

  private taskOf(orders: readonly Order[], from: LatLng | null): TaskFrame {
    const now = this.clock.now();
    const stops = remainingStops(orders, now);
    const start = from ?? stops[0]?.place ?? { lat: 0, lng: 0 };
    const etas = etaThroughStops(now, start, stops, this.options.travel, this.options.service);
    return { type: 'task', orders: orders.map(courierView), stops: etas.map((s, i) => ({ ...s, arrived: stops[i]!.arrivedAt !== undefined })) };
  }

  /**
   * A socket of this courier opened on this node: follow its channel and keep its work in memory.
   * `send` reaches every local socket of the courier. Resolves, once subscribed and loaded, with the
   * task frame to greet the new socket with.
   */
  async attach(courierId: string, send: (frame: object) => void): Promise<TaskFrame> {
    let s = this.sessions.get(courierId);
    if (!s) {
      s = { orders: [], geofences: new Map(), sockets: 0, unsubscribe: null, refreshing: null, last: null, following: null };
      this.sessions.set(courierId, s);
      const session = s;
      session.unsubscribe = await this.bus.subscribe(channels.courier(courierId), (msg) => {
        const type = (msg as { type?: string }).type;
        if (type !== 'task.refresh') send(msg as object);
        // anything about offers or orders may change the task: reload and re-send it
        if (type === 'task.changed' || type === 'offer.withdrawn' || type === 'offer.expired' || type === 'task.refresh') {
          void this.refresh(courierId).then((task) => task && send(task));
        }
      });
    }
    s.sockets++;
    return (await this.refresh(courierId)) ?? this.task(courierId);
  }

  async detach(courierId: string): Promise<void> {
    const s = this.sessions.get(courierId);
    if (!s || --s.sockets > 0) return;
    this.sessions.delete(courierId);
    await s.unsubscribe?.();
  }

  /** Reloads the courier's orders (keeping geofence progress of the stops that remain). */
  async refresh(courierId: string): Promise<TaskFrame | null> {
    const s = this.sessions.get(courierId);
    if (!s) return null;
    const orders = await this.repo.activeForCourier(courierId);
    s.orders = orders;
    for (const key of [...s.geofences.keys()]) if (!orders.some((o) => key.startsWith(o.id))) s.geofences.delete(key);
    return this.taskOf(orders, s.last);
  }

  /** A status frame from the courier; returns the updated order. */
  async status(
    courierId: string,
    orderId: string,
    status: CourierStatusUpdate,
    proof?: DeliveryProof,
    failure?: { reason: FailureReason; note?: string },
  ): Promise<Order> {
    const actor: Actor = { role: 'courier', id: courierId };
    let input: OrderEventInput;
    if (status === 'delivered') input = { type: 'delivered', ...(proof ? { proof } : {}) };
    else if (status === 'failed') input = { type: 'failed', reason: failure?.reason ?? 'courier_incident', ...(failure?.note ? { note: failure.note } : {}) };
    else input = { type: status };
    const { order } = await this.lifecycle.apply(orderId, input, actor);
    await this.refresh(courierId);
    return order;
  }

  /**
   * Called after the location pipeline stored a courier's new position: geofence arrivals, then one
   * tracking message per active order. Couriers without work on this node cost one map lookup.
   * Returns null when there was nothing to do.
   */
  onPosition(courierId: string, fix: Fix): Promise<void> | null {
    // hot path: synchronous and allocation-free for the many couriers without work
    const s = this.sessions.get(courierId);
    if (!s) return null;
    s.last = { lat: fix.lat, lng: fix.lng };
    if (s.orders.length === 0) return null;
    // One point after the other per courier: a point whose arrival write is in flight holds back the
    // next, so customers never see positions out of order (and the geofence sees fixes in order).
    const run = (s.following ?? Promise.resolve()).then(() => this.followPosition(courierId, s, fix));
    const settled: Promise<void> = run.then(
      () => undefined,
      () => undefined,
    );
    s.following = settled;
    void settled.then(() => {
      if (s.following === settled) s.following = null;
    });
    return run;
  }

  private async followPosition(courierId: string, s: Session, fix: Fix): Promise<void> {
    await this.detectArrivals(courierId, s, fix);
    const now = this.clock.now();
    const exact = { lat: fix.lat, lng: fix.lng };
    const etas = etaThroughStops(now, exact, remainingStops(s.orders, now), this.options.travel, this.options.service);
    // the H3 cell of the point, once per point however many orders are before pickup
    let coarse: LatLng | null = null;
    await Promise.all(
      s.orders
        .filter((o) => ACTIVE_STATUSES.includes(o.status))
        .map((o) => {
          const beforePickup = o.status === 'assigned' || o.status === 'at_pickup';
          const p = beforePickup ? (coarse ??= coarsen(exact)) : exact;
          const msg: TrackPositionMessage = {
            type: 'position',
            orderId: o.id,
            status: o.status,
            lat: p.lat,
            lng: p.lng,
            coarse: beforePickup,
            eta: o.status === 'returning' ? null : dropoffEta(etas, o.id),
            at: now,
          };
          return this.bus.publish(channels.track(o.id), msg);
        }),
    );
  }

  private async detectArrivals(courierId: string, s: Session, fix: Fix): Promise<void> {
    for (const o of [...s.orders]) {
      const target = o.status === 'assigned' ? { kind: 'pickup', place: o.pickup } : o.status === 'picked_up' ? { kind: 'dropoff', place: o.dropoff } : null;
      if (!target) continue;
      const key = `${o.id}:${target.kind}`;
      const { state, arrivedNow } = stepGeofence(s.geofences.get(key) ?? initialGeofence, fix, target.place, this.options.geofence);
      s.geofences.set(key, state);
      if (!arrivedNow) continue;
      const type = target.kind === 'pickup' ? 'arrived_pickup' : 'arrived_dropoff';
      try {
        const { order } = await this.lifecycle.apply(o.id, { type, auto: true, fixTs: fix.ts }, { role: 'courier', id: courierId });
        // the next points see the arrival at once (the refresh below re-reads everything)
        s.orders = s.orders.map((x) => (x.id === order.id ? order : x));
        this.log.info({ courierId, orderId: o.id, stop: target.kind }, 'geofence arrival');
      } catch (err) {
        // the courier may have reported it a moment earlier: that is fine
        this.log.debug({ err, courierId, orderId: o.id }, 'geofence arrival not applied');
      }
      await this.bus.publish(channels.courier(courierId), { type: 'task.refresh' });
    }
  }
}
