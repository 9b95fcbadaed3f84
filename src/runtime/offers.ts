/**
 * Courier offers: make one (orders + ordered stops with ETAs + expiry), and resolve it exactly once —
 * accepted by its courier, rejected, expired (no answer by the expiry, measured on the injected
 * Clock), or withdrawn because an order of it was cancelled.
 *
 * Who wins a race (accept vs cancel vs expiry) is decided by Postgres: every resolution runs in one
 * transaction that first writes the order rows (optimistic version check, row locks taken in order-id
 * order so two resolutions never deadlock) and then moves the offers row out of 'open' with
 * `UPDATE … WHERE status = 'open'`. Only one transaction can do that; the others roll back entirely
 * and get a clear error. Redis (RedisOfferState) only caches the open offer for reconnects and makes
 * one node handle each expiry.
 */
import { randomUUID } from 'node:crypto';
import type { BaseLogger } from 'pino';
import type { Clock } from '../clock.js';
import type { ServiceTimes, TravelModel } from '../dispatch/types.js';
import { etaThroughStops, type LatLng, type RemainingStop } from '../domain/eta.js';
import { applyOrderEvent, isTerminal, OrderError, type Actor, type Order, type OrderEventInput } from '../domain/order.js';
import { OrderStoreError, type OrderTx, type PgOrderRepository } from '../store/pg/order-repository.js';
import type { LiveOffer, OfferStop, RedisOfferState } from '../store/redis/offers.js';
import { channels, type MessageBus } from '../store/redis/pubsub.js';
import type { Change, CourierTaskChanged, OrderLifecycle } from './order-lifecycle.js';
import { courierView } from './courier-tasks.js';

type Logger = Pick<BaseLogger, 'debug' | 'info' | 'warn' | 'error'>;

export type OfferErrorCode =
  | 'offer_not_found'
  | 'offer_not_yours'
  | 'offer_closed'
  | 'offer_expired'
  | 'courier_has_open_offer'
  | 'courier_paused'
  | 'order_changed'
  | 'no_orders';

export class OfferError extends Error {
  constructor(
    readonly code: OfferErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'OfferError';
  }
}

/** An offer taken back before its courier answered. */
export interface WithdrawnOffer {
  readonly offerId: string;
  readonly courierId: string;
  readonly orderIds: readonly string[];
}

/** The frame a courier receives. */
export interface OfferFrame extends LiveOffer {
  readonly type: 'offer';
}

export interface OfferServiceOptions {
  readonly ttlMs: number;
  readonly travel: TravelModel<LatLng>;
  readonly service: ServiceTimes;
  /** How often this node looks for expiries it did not schedule itself (other nodes, restarts). */
  readonly sweepMs?: number;
}

const SYSTEM: Actor = { role: 'system', id: 'offers' };

/** A stop of a planned route (the dispatch loop's sequence), with its planned service instant. */
export interface PlannedStop {
  readonly kind: 'pickup' | 'dropoff';
  readonly orderIds: readonly string[];
  readonly lat: number;
  readonly lng: number;
  /** Planned pickup or hand-over instant, epoch ms. */
  readonly eta: number;
}

export interface OfferOptions {
  /**
   * Compare-and-set: every order must still be at exactly this version when the offer commits (the
   * version the dispatch round planned with), else the offer fails with `order_changed` and nothing is written.
   */
  readonly expectedVersions?: ReadonlyMap<string, number>;
  /** The stops in this order (the plan's sequence) instead of all pickups, then all drop-offs. */
  readonly stops?: readonly PlannedStop[];
  /** Runs inside the commit; throws (e.g. OfferError `courier_paused`) to refuse the courier. */
  readonly checkCourier?: () => Promise<void>;
  /** Per order: the ready time (epoch ms) the round planned it with, kept with the offer (assignment updates). */
  readonly plannedReady?: ReadonlyMap<string, number>;
}

/** An assignment update (dispatch/reassign.ts): take an assigned order from its courier and offer it to another. */
export interface MoveRequest {
  readonly orderId: string;
  readonly fromCourierId: string;
  readonly toCourierId: string;
  /** Compare-and-set: the order must still be at this version, `assigned` to `fromCourierId`. */
  readonly expectedVersion: number;
  /** The new courier's stops (pickup, drop-off) with their planned instants. */
  readonly stops: readonly PlannedStop[];
  /** The ready estimate (epoch ms) the move was decided with: the new assignment's plan. */
  readonly plannedReadyAt: number;
  readonly reason: string;
  readonly savedS: number;
  readonly gainS: number;
  readonly readyChangeS: number;
  /** Runs inside the commit; throws (e.g. OfferError `courier_paused`) to refuse the new courier. */
  readonly checkCourier?: () => Promise<void>;
}

/** Pickups in the given order, then drop-offs in the given order (the dispatch loop passes the plan's sequence instead: OfferOptions.stops). */
export function stopsFor(orders: readonly Order[]): RemainingStop[] {
  return [
    ...orders.map((o) => ({ kind: 'pickup' as const, orderIds: [o.id], place: o.pickup, readyAt: o.readyAt })),
    ...orders.map((o) => ({ kind: 'dropoff' as const, orderIds: [o.id], place: o.dropoff })),
  ];
}

/** Planned stops as offer stops, with the orders' addresses. */
function offerStops(orders: readonly Order[], planned: readonly PlannedStop[]): OfferStop[] {
  return planned.map((s) => {
    const order = orders.find((o) => o.id === s.orderIds[0])!;
    const addr = (s.kind === 'pickup' ? order.pickup : order.dropoff).address;
    return { kind: s.kind, orderIds: [...s.orderIds], lat: s.lat, lng: s.lng, ...(addr ? { address: addr } : {}), eta: s.eta };
  });
}

/** Plain counters of offer outcomes on this node, read by the metrics at scrape time. */
export interface OfferStats {
  made: number;
  accepted: number;
  rejected: number;
  expired: number;
  withdrawn: number;
  /** Assignment updates: orders taken from their courier and offered to a better one. */
  moved: number;
}

export class OfferService {
  readonly stats: OfferStats = { made: 0, accepted: 0, rejected: 0, expired: 0, withdrawn: 0, moved: 0 };
  private readonly timers = new Map<string, () => void>();
  private stopSweep: (() => void) | null = null;
  private readonly pending = new Set<Promise<unknown>>();
  /** Hybrid fleet: called before a carrier order is cancelled (runtime/carrier-dispatch.ts passes it to the carrier). */
  beforeCancel: ((order: Order) => Promise<void>) | null = null;

  constructor(
    private readonly lifecycle: OrderLifecycle,
    private readonly repo: PgOrderRepository,
    private readonly state: RedisOfferState,
    private readonly bus: MessageBus,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly positionOf: (courierId: string) => Promise<LatLng | null>,
    private readonly options: OfferServiceOptions,
  ) {}

  /** Creates an offer of `orderIds` to one courier and pushes it to the courier's socket (any node). */
  async offer(courierId: string, orderIds: readonly string[], actor: Actor, opts: OfferOptions = {}): Promise<LiveOffer> {
    if (orderIds.length === 0) throw new OfferError('no_orders', 'an offer needs at least one order');
    const now = this.clock.now();
    const offerId = randomUUID();
    const expiresAt = now + this.options.ttlMs;
    const orders = await this.repo.getMany(orderIds);
    if (orders.length !== new Set(orderIds).size) {
      const missing = orderIds.filter((id) => !orders.some((o) => o.id === id));
      throw new OrderStoreError('order_not_found', `order ${missing[0]} not found`, { orderId: missing[0] });
    }
    let stops: OfferStop[];
    if (opts.stops) {
      stops = offerStops(orders, opts.stops);
    } else {
      const from = (await this.positionOf(courierId)) ?? orders[0]!.pickup;
      const etas = etaThroughStops(now, from, stopsFor(orders), this.options.travel, this.options.service);
      stops = etas.map((s) => {
        const order = orders.find((o) => o.id === s.orderIds[0])!;
        const place = s.kind === 'pickup' ? order.pickup : order.dropoff;
        return { kind: s.kind, orderIds: s.orderIds, lat: place.lat, lng: place.lng, ...(place.address ? { address: place.address } : {}), eta: s.serviceAt };
      });
    }
    const expected = opts.expectedVersions;
    const changes = await this.repo.change(async (tx) => {
      await refuseIfOfferOpen(tx, courierId);
      await opts.checkCourier?.();
      const out = await this.applyToOrders(
        tx,
        orderIds,
        (o) => {
          // re-read in this transaction (a version conflict at save retries, and lands here again)
          const want = expected?.get(o.id);
          if (want !== undefined && o.version !== want) {
            throw new OfferError('order_changed', `order ${o.id} changed since it was planned (version ${o.version}, planned ${want})`, {
              orderId: o.id,
              version: o.version,
              expected: want,
            });
          }
          return { type: 'offered', offerId, courierId, expiresAt };
        },
        actor,
      );
      const plannedReady = opts.plannedReady ? Object.fromEntries(opts.plannedReady) : undefined;
      await tx.insertOffer({ id: offerId, courierId, orderIds, stops, status: 'open', reason: null, createdAt: now, expiresAt, ...(plannedReady ? { plannedReady } : {}) });
      return out;
    }).catch((err: unknown) => {
      throw openOfferRace(err, courierId);
    });
    await this.lifecycle.afterCommit(changes);
    const offered = orderIds.map((id) => courierView(changes.find((c) => c.order.id === id)!.order));
    const live: LiveOffer = { offerId, courierId, orderIds: [...orderIds], orders: offered as unknown as Record<string, unknown>[], stops, createdAt: now, expiresAt };
    await this.publishOffer(live, now);
    this.log.info({ offerId, courierId, orders: orderIds.length, expiresAt }, 'offer made');
    return live;
  }

  /**
   * Assignment update: in ONE transaction the order leaves its courier (its assignment ends `reassigned`)
   * and is offered to the new one (`reassigned` event, status `offered`), with a compare-and-set — the
   * order still at the version decided on, `assigned` to the same courier — so a courier reaching the store
   * (or anything else) that commits first wins and the move is dropped (`order_changed`); one that comes
   * after finds the order moved. The new courier must accept as for any offer (a reject or expiry puts the
   * order back in the pool); the old one gets `task.changed` (`reason: "reassigned"`) and its new task.
   */
  async move(req: MoveRequest, actor: Actor): Promise<LiveOffer> {
    const now = this.clock.now();
    const offerId = randomUUID();
    const expiresAt = now + this.options.ttlMs;
    const { orderId, fromCourierId, toCourierId } = req;
    const before = await this.repo.get(orderId);
    if (!before) throw new OrderStoreError('order_not_found', `order ${orderId} not found`, { orderId });
    const stops = offerStops([before], req.stops);
    const changed = (version: number, status: string) =>
      new OfferError('order_changed', `order ${orderId} changed since the move was decided (version ${version}, ${status})`, {
        orderId,
        version,
        expected: req.expectedVersion,
      });
    let change: Change;
    try {
      change = await this.repo.transaction(async (tx) => {
        await refuseIfOfferOpen(tx, toCourierId);
        await req.checkCourier?.();
        const current = await tx.load(orderId);
        if (current.version !== req.expectedVersion || current.status !== 'assigned' || current.courierId !== fromCourierId) {
          throw changed(current.version, current.status);
        }
        const input: OrderEventInput = {
          type: 'reassigned',
          offerId,
          courierId: toCourierId,
          expiresAt,
          reason: req.reason,
          savedS: Math.round(req.savedS),
          gainS: Math.round(req.gainS),
          readyChangeS: Math.round(req.readyChangeS),
        };
        const { order, event } = applyOrderEvent(current, input, actor, now);
        // the version-checked write: a change committed since the read above makes it fail (no retry)
        const stored = await tx.save(current, order, event);
        await tx.endAssignment(orderId, 'reassigned', now);
        await tx.insertOffer({
          id: offerId,
          courierId: toCourierId,
          orderIds: [orderId],
          stops,
          status: 'open',
          reason: null,
          createdAt: now,
          expiresAt,
          plannedReady: { [orderId]: req.plannedReadyAt },
        });
        return { order, event: stored };
      });
    } catch (err) {
      if (isOpenOfferRace(err)) throw openOfferRace(err, toCourierId);
      if (err instanceof OrderStoreError && err.code === 'version_conflict') throw changed(req.expectedVersion + 1, 'changed concurrently');
      throw err;
    }
    await this.lifecycle.afterCommit([change]);
    const live: LiveOffer = {
      offerId,
      courierId: toCourierId,
      orderIds: [orderId],
      orders: [courierView(change.order)] as unknown as Record<string, unknown>[],
      stops,
      createdAt: now,
      expiresAt,
    };
    await this.publishOffer(live, now);
    const taken: CourierTaskChanged = { type: 'task.changed', orderId, status: change.order.status, event: 'reassigned', reason: 'reassigned' };
    await this.bus.publish(channels.courier(fromCourierId), taken).catch((err: unknown) => {
      this.log.error({ err, orderId, courierId: fromCourierId }, 'could not tell the previous courier');
    });
    this.stats.moved++;
    this.log.info({ offerId, orderId, fromCourierId, toCourierId, reason: req.reason, savedS: req.savedS, gainS: req.gainS }, 'order moved to a better courier');
    return live;
  }

  /** Accept: only by the courier it was made to, only while open; exactly one resolution wins. */
  async accept(courierId: string, offerId: string): Promise<Order[]> {
    const actor: Actor = { role: 'courier', id: courierId };
    const changes = await this.repo.change(async (tx) => {
      const offer = await this.openOffer(tx, offerId, courierId);
      // the expiry is decided by the clock, not by when the timer or the sweep gets round to it
      if (offer.expiresAt <= this.clock.now()) {
        throw new OfferError('offer_expired', `offer ${offerId} expired`, { offerId, expiresAt: offer.expiresAt });
      }
      const out = await this.applyToOrders(tx, offer.orderIds, () => ({ type: 'accepted', offerId, courierId }), actor, 'offer_closed');
      await this.close(tx, offerId, courierId, 'accepted');
      for (const c of out) await tx.startAssignment(c.order.id, courierId, offerId, c.event.at);
      return out;
    }).catch(async (err: unknown) => {
      throw await this.lateAccept(err, offerId, courierId);
    });
    await this.resolved({ offerId, courierId }, changes);
    this.stats.accepted++;
    this.log.info({ offerId, courierId }, 'offer accepted');
    return changes.map((c) => c.order);
  }

  /**
   * One answer to an accept that comes too late, whatever the timing: `offer_expired` — whether the clock
   * had passed the expiry, the expiry committed first, or committed while the accept was running (which
   * otherwise surfaces as `offer_closed` or a moved order). An offer past its expiry and not yet expired
   * is expired now, so its orders go back to the pool at once.
   */
  private async lateAccept(err: unknown, offerId: string, courierId: string): Promise<unknown> {
    if (!(err instanceof OfferError) || (err.code !== 'offer_expired' && err.code !== 'offer_closed')) return err;
    const offer = await this.repo.transaction((tx) => tx.getOffer(offerId, courierId)).catch(() => null);
    const due = offer !== null && offer.status === 'open' && offer.expiresAt <= this.clock.now();
    if (due) this.expireSoon(offerId);
    if (err.code === 'offer_expired' || due || offer?.status === 'expired') {
      return new OfferError('offer_expired', `offer ${offerId} expired`, { offerId, expiresAt: offer?.expiresAt });
    }
    return err;
  }

  async reject(courierId: string, offerId: string, reason: string): Promise<void> {
    const actor: Actor = { role: 'courier', id: courierId };
    const changes = await this.repo.change(async (tx) => {
      const offer = await this.openOffer(tx, offerId, courierId);
      const out = await this.applyToOrders(tx, offer.orderIds, () => ({ type: 'offer_rejected', offerId, courierId, reason }), actor, 'skip');
      await this.close(tx, offerId, courierId, 'rejected', reason);
      return out;
    });
    await this.resolved({ offerId, courierId }, changes);
    this.stats.rejected++;
    this.log.info({ offerId, courierId, reason }, 'offer rejected');
  }

  /** No answer in time counts as a rejection. Safe to call from any node and more than once. */
  async expire(offerId: string): Promise<boolean> {
    this.unschedule(offerId);
    if (!(await this.state.claimExpiry(offerId))) {
      // another node claimed it, or Redis lost the schedule: Postgres still decides below
      const rec = await this.repo.transaction((tx) => tx.getOffer(offerId));
      if (!rec || rec.status !== 'open' || rec.expiresAt > this.clock.now()) return false;
    }
    let outcome: { courierId: string; changes: Change[] } | null;
    try {
      // What the committed attempt returned, and only that: a retried attempt (an accept committed in
      // between) finds the offer closed and tells nobody anything.
      outcome = await this.repo.change(async (tx) => {
        const offer = await tx.getOffer(offerId);
        if (!offer || offer.status !== 'open') return null;
        const out = await this.applyToOrders(tx, offer.orderIds, () => ({ type: 'offer_expired', offerId, courierId: offer.courierId }), SYSTEM, 'skip');
        await this.close(tx, offerId, offer.courierId, 'expired');
        return { courierId: offer.courierId, changes: out };
      });
    } catch (err) {
      if (err instanceof OfferError && err.code === 'offer_closed') return false; // answered just in time
      throw err;
    }
    if (!outcome) return false;
    const { courierId, changes } = outcome;
    this.stats.expired++;
    await this.resolved({ offerId, courierId }, changes);
    await this.bus.publish(channels.courier(courierId), { type: 'offer.expired', offerId });
    this.log.info({ offerId, courierId }, 'offer expired');
    return true;
  }

  /**
   * Cancels an order. An order under offer withdraws the whole offer (its other orders go back to
   * the pool without excluding the courier); after pickup the state machine turns it into a return.
   */
  async cancel(orderId: string, actor: Actor, reason: string | undefined, guard?: (o: Order) => void): Promise<Change> {
    if (this.beforeCancel) {
      // a carrier order: the carrier cancels its delivery first (refused once it has the goods)
      const before = await this.repo.get(orderId);
      if (before && before.fleet !== 'own') {
        guard?.(before);
        await this.beforeCancel(before);
      }
    }
    let withdrawn: { offerId: string; courierId: string; orderIds: readonly string[] } | null = null;
    const changes = await this.repo.change(async (tx) => {
      withdrawn = null;
      const current = await tx.load(orderId);
      guard?.(current);
      const out: Change[] = [];
      if (current.status === 'offered' && current.offerId && current.courierId) {
        const offer = await tx.getOffer(current.offerId, current.courierId);
        const offerId = current.offerId;
        const courierId = current.courierId;
        const ids = offer ? offer.orderIds : [orderId];
        out.push(
          ...(await this.applyToOrders(
            tx,
            ids,
            (o) => {
              if (o.id !== orderId) return { type: 'offer_withdrawn', offerId, courierId };
              // re-read under this transaction: if an accept committed since the first read, start over
              if (o.version !== current.version) {
                throw new OrderStoreError('version_conflict', `order ${o.id} changed while cancelling`, { orderId: o.id });
              }
              return { type: 'cancelled', reason };
            },
            actor,
            'skip',
            guard,
          )),
        );
        await this.close(tx, offerId, courierId, 'withdrawn', 'order cancelled');
        withdrawn = { offerId, courierId, orderIds: ids };
      } else {
        const { order, event } = applyOrderEvent(current, { type: 'cancelled', reason }, actor, this.clock.now());
        const stored = await tx.save(current, order, event);
        if (isTerminal(order.status) && current.courierId) await tx.endAssignment(order.id, order.status, event.at);
        out.push({ order, event: stored });
      }
      return out;
    });
    const w = withdrawn as WithdrawnOffer | null;
    if (w) {
      await this.withdrawn(w, changes);
    } else {
      await this.lifecycle.afterCommit(changes);
    }
    return changes.find((c) => c.order.id === orderId)!;
  }

  /**
   * After a transaction that withdrew an open offer committed (a cancel, a dispatcher override): stop
   * its expiry, clear its cache (so a reconnect does not re-send it), run the post-commit work of the
   * changes and tell its courier with an `offer.withdrawn` frame.
   */
  async withdrawn(w: WithdrawnOffer, changes: readonly Change[]): Promise<void> {
    this.stats.withdrawn++;
    await this.resolved(w, changes);
    await this.bus.publish(channels.courier(w.courierId), { type: 'offer.withdrawn', offerId: w.offerId, orderIds: w.orderIds });
  }

  /** The courier's open offer, for re-sending on reconnect. */
  async openFor(courierId: string): Promise<OfferFrame | null> {
    const live = await this.state.openForCourier(courierId);
    if (live && live.expiresAt > this.clock.now()) return { type: 'offer', ...live };
    const rec = await this.repo.openOfferForCourier(courierId);
    if (!rec || rec.expiresAt <= this.clock.now()) return null;
    const cached = await this.state.get(rec.id);
    return cached ? { type: 'offer', ...cached } : null;
  }

  /** Expires what is due now and keeps doing so every `sweepMs` of the clock (restarts, other nodes). */
  start(): void {
    const every = this.options.sweepMs ?? 1000;
    const loop = () => {
      const p = this.sweep()
        .catch((err: unknown) => this.log.error({ err }, 'offer expiry sweep failed'))
        .finally(() => {
          this.pending.delete(p);
          if (this.stopSweep) this.stopSweep = this.clock.setTimeout(loop, every);
        });
      this.pending.add(p);
    };
    this.stopSweep = this.clock.setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    const stop = this.stopSweep;
    this.stopSweep = null;
    stop?.();
    for (const cancel of this.timers.values()) cancel();
    this.timers.clear();
    await Promise.allSettled([...this.pending]);
  }

  /** Expires every offer due by now (from Redis' schedule and, in case Redis lost it, Postgres). */
  async sweep(): Promise<number> {
    const now = this.clock.now();
    const ids = new Set(await this.state.due(now));
    for (const rec of await this.repo.openOffersDueBy(now)) ids.add(rec.id);
    let n = 0;
    for (const id of ids) if (await this.expire(id)) n++;
    return n;
  }

  /** Waits for expiries that timers started (tests and graceful shutdown). */
  async idle(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  /** A committed offer goes live: cached for reconnects, its expiry scheduled, sent to its courier. */
  private async publishOffer(live: LiveOffer, now: number): Promise<void> {
    await this.state.save(live, now);
    this.schedule(live);
    await this.bus.publish(channels.courier(live.courierId), { type: 'offer', ...live } satisfies OfferFrame);
    this.stats.made++;
  }

  private schedule(offer: LiveOffer): void {
    const cancel = this.clock.setTimeout(() => {
      this.timers.delete(offer.offerId);
      this.expireSoon(offer.offerId);
    }, Math.max(0, offer.expiresAt - this.clock.now()));
    this.timers.set(offer.offerId, cancel);
  }

  /** Expires in the background (tracked, so `idle` and `stop` wait for it). */
  private expireSoon(offerId: string): void {
    const p = this.expire(offerId)
      .catch((err: unknown) => this.log.error({ err, offerId }, 'offer expiry failed'))
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  private unschedule(offerId: string): void {
    this.timers.get(offerId)?.();
    this.timers.delete(offerId);
  }

  private async resolved(offer: { offerId: string; courierId: string }, changes: readonly Change[]): Promise<void> {
    this.unschedule(offer.offerId);
    await this.lifecycle.afterCommit(changes);
    await this.state.resolve(offer).catch((err: unknown) => this.log.error({ err, offerId: offer.offerId }, 'offer cache not cleared'));
  }

  private async openOffer(tx: OrderTx, offerId: string, courierId: string) {
    // by (courier, id) first — one shard; only an offer made to someone else needs the lookup by id alone
    const offer = (await tx.getOffer(offerId, courierId)) ?? (await tx.getOffer(offerId));
    if (!offer) throw new OfferError('offer_not_found', `offer ${offerId} not found`, { offerId });
    if (offer.courierId !== courierId) throw new OfferError('offer_not_yours', `offer ${offerId} was made to another courier`, { offerId });
    if (offer.status !== 'open') {
      throw new OfferError('offer_closed', `offer ${offerId} is already ${offer.status}`, { offerId, status: offer.status });
    }
    return offer;
  }

  /** The offers row leaves 'open' exactly once; losing that race undoes the whole transaction. */
  private async close(
    tx: OrderTx,
    offerId: string,
    courierId: string,
    status: 'accepted' | 'rejected' | 'expired' | 'withdrawn',
    reason?: string,
  ): Promise<void> {
    if (!(await tx.closeOffer(offerId, courierId, status, this.clock.now(), reason))) {
      const now = await tx.getOffer(offerId, courierId);
      throw new OfferError('offer_closed', `offer ${offerId} is already ${now?.status ?? 'gone'}`, { offerId, status: now?.status });
    }
  }

  /**
   * Applies a command to each order (locked in id order). `onIllegal`: 'throw' surfaces the state
   * machine's error, 'offer_closed' maps it to that code, 'skip' leaves orders that moved on (e.g.
   * already cancelled) alone.
   */
  private async applyToOrders(
    tx: OrderTx,
    orderIds: readonly string[],
    command: (o: Order) => OrderEventInput,
    actor: Actor,
    onIllegal: 'throw' | 'offer_closed' | 'skip' = 'throw',
    guard?: (o: Order) => void,
  ): Promise<Change[]> {
    const out: Change[] = [];
    for (const id of [...orderIds].sort()) {
      const current = await tx.load(id);
      const input = command(current);
      // an answer to an offer only applies while the order is still under that very offer
      if ('offerId' in input && input.type !== 'offered' && (current.status !== 'offered' || current.offerId !== input.offerId)) {
        if (onIllegal === 'skip') continue;
        if (onIllegal === 'offer_closed') throw new OfferError('offer_closed', `order ${id} is no longer under this offer`, { orderId: id });
      }
      if (input.type === 'cancelled') guard?.(current);
      let result;
      try {
        result = applyOrderEvent(current, input, actor, this.clock.now());
      } catch (err) {
        if (err instanceof OrderError && err.code === 'illegal_transition' && onIllegal === 'offer_closed') {
          throw new OfferError('offer_closed', `order ${id} is ${current.status}`, { orderId: id, status: current.status });
        }
        throw err;
      }
      out.push({ order: result.order, event: await tx.save(current, result.order, result.event) });
    }
    return out;
  }
}

/** A courier gets one open offer at a time: refused here, with the open one named. */
async function refuseIfOfferOpen(tx: OrderTx, courierId: string): Promise<void> {
  const open = await tx.client.query(`SELECT id FROM offers WHERE courier_id = $1 AND status = 'open' LIMIT 1`, [courierId]);
  if (open.rowCount) throw new OfferError('courier_has_open_offer', `courier ${courierId} has an open offer`, { offerId: open.rows[0].id });
  // (the unique index offers_one_open_per_courier settles the race this read cannot: openOfferRace)
}

function isOpenOfferRace(err: unknown): boolean {
  return (err as { constraint?: string }).constraint === 'offers_one_open_per_courier';
}

/** A concurrent offer to the same courier committed first (unique index on open offers): the client's error. */
function openOfferRace(err: unknown, courierId: string): unknown {
  return isOpenOfferRace(err) ? new OfferError('courier_has_open_offer', `courier ${courierId} has an open offer`, {}) : err;
}
