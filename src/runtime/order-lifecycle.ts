/**
 * Every change to an order goes through here: decide with the pure state machine, write the row +
 * event + outbox in one transaction (PgOrderRepository), then — after the commit — move the order in
 * or out of the open pool and tell whoever watches (store socket, courier socket, tracking sockets)
 * through the message bus, so it works whichever node holds those sockets.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import { cellOf, zoneOf } from '../domain/geo.js';
import {
  applyOrderEvent,
  createOrder,
  isTerminal,
  OPEN_STATUSES,
  OrderError,
  type Actor,
  type Order,
  type OrderEventInput,
  type OrderInput,
  type OrderTerms,
  type PromiseTargets,
} from '../domain/order.js';
import type { BaseLogger } from 'pino';
import { QuoteError, quotedTerms, type Quote } from '../domain/quote.js';
import { isZoneOpenAt, type Zone } from '../domain/zones.js';
import type { LatLng } from '../domain/geo.js';
import { ORDER_QUOTE_CONSTRAINT, OrderStoreError, type OrderTx, type PgOrderRepository, type StoredOrderEvent } from '../store/pg/order-repository.js';
import type { OpenOrderPool } from '../store/redis/open-orders.js';
import { channels, type MessageBus } from '../store/redis/pubsub.js';

type Logger = Pick<BaseLogger, 'debug' | 'info' | 'warn' | 'error'>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Where orders are taken: the zone catalog (runtime/zones.ts). */
export interface ZoneLocator {
  locate(p: LatLng): Zone | null;
}

export interface QuoteSource {
  get(quoteId: string): Promise<Quote | null>;
}

export interface OrderLifecycleOptions {
  readonly targets: PromiseTargets;
  readonly h3Resolution: number;
  /** Absent: orders are taken anywhere with the promise targets above. */
  readonly zones?: ZoneLocator;
  /** Needed for orders placed with a `quoteId`. */
  readonly quotes?: QuoteSource;
  /**
   * How long the open pool remembers the version of an order that ended (so a late, older write
   * cannot put it back) before a reconcile forgets it; 15 min by default. A write arriving later
   * still is undone by the next reconcile.
   */
  readonly tombstoneKeepMs?: number;
}

export interface Change {
  readonly order: Order;
  readonly event: StoredOrderEvent;
}

/** What store sockets and tracking sockets are told about a change. */
export interface StatusMessage {
  readonly type: 'order.status';
  readonly orderId: string;
  readonly externalId: string;
  readonly status: Order['status'];
  readonly version: number;
  readonly event: StoredOrderEvent['type'];
  readonly at: number;
  readonly courierId: string | null;
  readonly reason: string | null;
}

/** Sent on the courier channel when something changed the courier's work (the socket re-sends the task). */
export interface CourierTaskChanged {
  readonly type: 'task.changed';
  readonly orderId: string;
  readonly status: Order['status'];
  readonly event: StoredOrderEvent['type'];
  readonly reason: string | null;
}

export class OutsideServiceAreaError extends Error {
  readonly code = 'outside_service_area';
  constructor(readonly field: 'pickup' | 'dropoff') {
    super(`${field} is outside the service area`);
  }
}

/** The pickup's zone is closed now, or does not sell the option (422). */
export class ZoneRefusalError extends Error {
  constructor(
    readonly code: 'zone_closed' | 'option_not_offered',
    message: string,
    readonly details: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** The zones of pickup and drop-off (each in some active zone, else OutsideServiceAreaError naming it). */
export function zonesOf(zones: ZoneLocator, input: { pickup: LatLng; dropoff: LatLng }): { pickup: Zone; dropoff: Zone } {
  const pickup = zones.locate(input.pickup);
  if (!pickup) throw new OutsideServiceAreaError('pickup');
  const dropoff = zones.locate(input.dropoff);
  if (!dropoff) throw new OutsideServiceAreaError('dropoff');
  return { pickup, dropoff };
}

/** Canonical JSON (sorted keys) so the same body always hashes the same. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function requestHash(input: OrderInput): string {
  return createHash('sha256').update(canonical(input)).digest('hex');
}

/** Plain counters of committed changes on this node, read by the metrics at scrape time. */
export class OrderStats {
  /** New orders by delivery option. */
  readonly created = new Map<string, number>();
  /** Committed order events by type (placed, offered, accepted, delivered, …). */
  readonly events = new Map<string, number>();

  count(change: Change): void {
    const type = change.event.type;
    this.events.set(type, (this.events.get(type) ?? 0) + 1);
    if (type === 'placed') this.created.set(change.order.option, (this.created.get(change.order.option) ?? 0) + 1);
  }
}

export class OrderLifecycle {
  readonly stats = new OrderStats();
  private readonly openListeners: ((order: Order) => void)[] = [];
  private readonly changeListeners: ((change: Change) => void)[] = [];

  constructor(
    readonly repo: PgOrderRepository,
    private readonly pool: OpenOrderPool,
    private readonly bus: MessageBus,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: OrderLifecycleOptions,
  ) {}

  zoneOf(order: Pick<Order, 'pickup'>): string {
    return zoneOf(cellOf(order.pickup.lat, order.pickup.lng, this.options.h3Resolution));
  }

  /**
   * The terms an order is sold at: a quote's fee and promise, or the pickup zone's promise minutes
   * (zone open now, option offered; scheduled orders may be placed while it is closed).
   */
  private async terms(storeId: string, input: OrderInput, now: number): Promise<{ targets: PromiseTargets; terms: OrderTerms }> {
    const zones = this.options.zones;
    const zone = zones ? zonesOf(zones, input).pickup : null;
    if (input.quoteId) {
      const quoted = quotedTerms((await this.options.quotes?.get(input.quoteId)) ?? null, storeId, input, now);
      return { targets: this.options.targets, terms: { promisedBy: quoted.promisedBy, fee: quoted.fee, quoteId: input.quoteId } };
    }
    if (!zone) return { targets: this.options.targets, terms: {} };
    const option = zone.settings.options[input.option];
    if (!option) throw new ZoneRefusalError('option_not_offered', `zone ${zone.id} does not offer ${input.option} delivery`, { zoneId: zone.id, field: 'option' });
    if (input.option !== 'scheduled' && !isZoneOpenAt(zone.settings, now)) {
      throw new ZoneRefusalError('zone_closed', `zone ${zone.id} is closed now`, { zoneId: zone.id, field: 'pickup' });
    }
    const ms = option.promiseMin * 60_000;
    return { targets: { expressMs: input.option === 'express' ? ms : this.options.targets.expressMs, standardMs: input.option === 'standard' ? ms : this.options.targets.standardMs }, terms: {} };
  }

  /** The order already placed from this quote, if the new request asks for the same delivery; else quote_mismatch. */
  private async placedFromQuote(storeId: string, input: OrderInput): Promise<Order | null> {
    if (!input.quoteId) return null;
    const existing = await this.repo.findByQuoteId(input.quoteId);
    if (!existing) return null;
    if (existing.storeId !== storeId) throw new QuoteError('quote_not_found', 'quote not found', { quoteId: input.quoteId });
    const same =
      existing.pickup.lat === input.pickup.lat &&
      existing.pickup.lng === input.pickup.lng &&
      existing.dropoff.lat === input.dropoff.lat &&
      existing.dropoff.lng === input.dropoff.lng &&
      existing.items === input.items &&
      existing.size === (input.size ?? 1) &&
      existing.option === input.option &&
      (existing.window?.from ?? null) === (input.window?.from ?? null) &&
      (existing.window?.to ?? null) === (input.window?.to ?? null);
    if (!same) throw new QuoteError('quote_mismatch', `quote ${input.quoteId} was used for order ${existing.id} with another delivery`, { quoteId: input.quoteId, orderId: existing.id });
    return existing;
  }

  /**
   * Idempotent on (store, external id): `created` is false for a replay of the same body. An order
   * from a quote is also idempotent on the quote: placing it again returns the same order.
   */
  async place(storeId: string, input: OrderInput, actor: Actor): Promise<{ order: Order; created: boolean }> {
    const now = this.clock.now();
    const hash = requestHash(input);
    let created: ReturnType<typeof createOrder>;
    try {
      const fromQuote = await this.placedFromQuote(storeId, input);
      if (fromQuote) return { order: fromQuote, created: false };
      const { targets, terms } = await this.terms(storeId, input, now);
      created = createOrder(randomUUID(), storeId, input, now, targets, actor, terms);
    } catch (err) {
      // A replay of an order accepted earlier is answered as one even if the body would not pass
      // today (its window has begun or ended since, the service area changed). Looked up only when
      // the checks fail, so a new order stays one statement.
      const existing = await this.repo.findByExternalId(storeId, input.externalId);
      if (!existing) throw err;
      if (existing.requestHash !== hash) {
        throw new OrderStoreError('idempotency_conflict', `order ${input.externalId} of store ${storeId} already exists with a different body`, {
          orderId: existing.order.id,
          externalId: input.externalId,
        });
      }
      return { order: existing.order, created: false };
    }
    const { order, event } = created;
    let result: Awaited<ReturnType<PgOrderRepository['create']>>;
    try {
      result = await this.repo.create(order, event, hash, this.zoneOf(order));
    } catch (err) {
      // a concurrent placement from the same quote won the unique index: answer with its order
      const raced = (err as { constraint?: string }).constraint === ORDER_QUOTE_CONSTRAINT ? await this.placedFromQuote(storeId, input) : null;
      if (!raced) throw err;
      return { order: raced, created: false };
    }
    if (result.created && result.event) await this.afterCommit([{ order: result.order, event: result.event }]);
    return { order: result.order, created: result.created };
  }

  /**
   * Applies one command to one order. `guard` runs on the freshly loaded order (ownership checks);
   * `extra` runs in the same transaction after the save (offer rows, assignments).
   */
  async apply(
    orderId: string,
    input: OrderEventInput,
    actor: Actor,
    guard?: (order: Order) => void,
    extra?: (tx: OrderTx, change: Change) => Promise<void>,
  ): Promise<Change> {
    const change = await this.repo.change(async (tx) => {
      const current = await tx.load(orderId);
      guard?.(current);
      const { order, event } = applyOrderEvent(current, input, actor, this.clock.now());
      const stored = await tx.save(current, order, event);
      const c = { order, event: stored };
      if (isTerminal(order.status) && current.courierId) await tx.endAssignment(order.id, order.status, event.at);
      await extra?.(tx, c);
      return c;
    });
    await this.afterCommit([change]);
    return change;
  }

  /** Called on this node after a change that leaves an order open (placed, ready, back from an offer): the dispatch loop's trigger. */
  onOpen(listener: (order: Order) => void): void {
    this.openListeners.push(listener);
  }

  /** Called on this node after every committed change (e.g. the prep-time model learns from `ready`). */
  onChange(listener: (change: Change) => void): void {
    this.changeListeners.push(listener);
  }

  /** Open pool, store, courier and tracking notifications; failures are logged, never undo the commit. */
  async afterCommit(changes: readonly Change[]): Promise<void> {
    for (const c of changes) {
      this.stats.count(c);
      for (const listener of this.changeListeners) {
        try {
          listener(c);
        } catch (err) {
          this.log.error({ err, orderId: c.order.id }, 'order change listener failed');
        }
      }
    }
    await Promise.all(changes.map((c) => this.notify(c)));
  }

  private async notify({ order, event }: Change): Promise<void> {
    const status: StatusMessage = {
      type: 'order.status',
      orderId: order.id,
      externalId: order.externalId,
      status: order.status,
      version: order.version,
      event: event.type,
      at: event.at,
      courierId: order.courierId,
      reason: order.reason,
    };
    const work: Promise<unknown>[] = [
      this.pool.sync(this.zoneOf(order), order),
      this.bus.publish(channels.store(order.storeId), status),
      this.bus.publish(channels.track(order.id), status),
    ];
    // the courier hears about changes it did not make itself (cancel, return, failure by others)
    const courierId = order.courierId ?? (event.data.courierId as string | undefined) ?? null;
    if (courierId && event.actor.id !== courierId && !['offered', 'offer_rejected', 'offer_expired', 'offer_withdrawn', 'reassigned'].includes(event.type)) {
      const msg: CourierTaskChanged = { type: 'task.changed', orderId: order.id, status: order.status, event: event.type, reason: order.reason };
      work.push(this.bus.publish(channels.courier(courierId), msg));
    }
    const results = await Promise.allSettled(work);
    for (const r of results) {
      if (r.status === 'rejected') this.log.error({ err: r.reason, orderId: order.id, version: order.version }, 'post-commit notification failed');
    }
    if (OPEN_STATUSES.includes(order.status)) {
      for (const listener of this.openListeners) {
        try {
          listener(order);
        } catch (err) {
          this.log.error({ err, orderId: order.id }, 'open-order listener failed');
        }
      }
    }
  }

  /** Rebuilds the Redis open pool from Postgres (after Redis lost its state or at start). */
  async rebuildOpenPool(): Promise<number> {
    return (await this.reconcileOpenPool()).open;
  }

  /**
   * Makes the open pool agree with Postgres: open orders it lacks (or holds in an older version)
   * are written, orders it holds that are no longer open are taken out. A post-commit pool write
   * that failed is thus repaired by the next run. Every write is version-guarded, so a change that
   * commits while this runs is never undone: an order that became open after the Postgres read is
   * re-read before anything is removed.
   */
  async reconcileOpenPool(): Promise<{ open: number; added: number; removed: number; pruned: number }> {
    const open = await this.repo.openOrders();
    const openIds = new Set(open.map((o) => o.id));
    let added = 0;
    for (const order of open) if (await this.pool.sync(this.zoneOf(order), order)) added++;
    let removed = 0;
    for (const zone of await this.pool.zones()) {
      const extra = (await this.pool.ids(zone)).filter((id) => !openIds.has(id));
      if (!extra.length) continue;
      // an id that is not even a UUID cannot be an order (and would fail the uuid[] cast)
      const current = new Map((await this.repo.getMany(extra.filter((id) => UUID.test(id)))).map((o) => [o.id, o]));
      for (const id of extra) {
        const order = current.get(id);
        if (!order) {
          await this.pool.drop(zone, id);
          removed++;
        } else if ((await this.pool.sync(zone, order)) && !OPEN_STATUSES.includes(order.status)) {
          removed++;
        }
      }
    }
    if (added || removed) this.log.warn({ added, removed, open: open.length }, 'open pool drifted from Postgres; repaired');
    const pruned = await this.pruneTombstones();
    return { open: open.length, added, removed, pruned };
  }

  /** Forgets the remembered versions of orders that ended long enough ago (the pool's version hash stays small). */
  private async pruneTombstones(): Promise<number> {
    const before = this.clock.now() - (this.options.tombstoneKeepMs ?? 15 * 60_000);
    let pruned = 0;
    for (const zone of await this.pool.zones()) {
      const tombstones = [...(await this.pool.tombstones(zone))];
      for (let i = 0; i < tombstones.length; i += 500) {
        const chunk = tombstones.slice(i, i + 500);
        const orders = new Map((await this.repo.getMany(chunk.map(([id]) => id).filter((id) => UUID.test(id)))).map((o) => [o.id, o]));
        for (const [id, version] of chunk) {
          const order = orders.get(id);
          const ended = !order || (isTerminal(order.status) && order.updatedAt <= before);
          if (ended && (await this.pool.pruneTombstone(zone, id, version))) pruned++;
        }
      }
    }
    return pruned;
  }
}

/** Store-side ownership: a store sees and changes only its own orders (others look absent). */
export function ownedBy(actor: Actor): (order: Order) => void {
  return (order) => {
    if (actor.role === 'store' && order.storeId !== actor.id) {
      throw new OrderError('not_your_order', `order ${order.id} not found`, { orderId: order.id });
    }
  };
}
