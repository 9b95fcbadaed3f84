/**
 * The hybrid-fleet hand-off (issue 13), decorated as `app.carrierDispatch` when CARRIERS names at least
 * one carrier:
 *
 * - Dispatch rounds (dispatcher.ts → `handOff`): for every order of the round in a zone that allows a
 *   carrier (zone fleet `carrier`/`both` naming a configured carrier), the pure fleet policy
 *   (dispatch/fleet-policy.ts) decides on the round's own plan and the carrier's quote; an order going
 *   to the carrier is created there (external id `<order id>:<order version>`, so a retry after a crash
 *   finds the same delivery) and only then committed as `carrier_requested` — compare-and-set on the
 *   version the round planned with; a lost race cancels the carrier delivery again.
 * - Carrier webhooks (`POST /v1/carriers/:name/webhooks`, gateway/http/carriers.ts → `webhook`): signed
 *   (401 bad_signature), statuses become order events (`carrier_<status>`, only forward, so retries and
 *   replays change nothing) with the usual post-commit work — store webhooks (outbox), store and tracking
 *   sockets; the carrier courier's positions go to the tracking socket/page (coarse before pickup, with an
 *   ETA) and the store socket (`order.position`), the latest kept in Redis for the tracking snapshot.
 *   A carrier `failed`/`cancelled` before pickup puts the order back to own dispatch (`ownOnly`, with the
 *   reason); the carrier retries a webhook until answered 2xx, and we answer 2xx only after the commit,
 *   so a restart of dispatchd in the middle loses nothing.
 * - A store's cancel of a carrier order is passed to the carrier first (offers.ts hook); a dispatcher can
 *   force either fleet (`POST /v1/orders/:id/fleet` → `force`).
 */
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { BaseLogger } from 'pino';
import type { Redis } from 'ioredis';
import { redisKeys } from '../store/redis/keys.js';
import type { Clock } from '../clock.js';
import { CarrierError, isCarrierFinal, type CarrierQuote, type CarrierUpdate } from '../domain/carrier.js';
import type { LatLng } from '../domain/geo.js';
import { applyOrderEvent, OPEN_STATUSES, OrderError, type Actor, type Order, type OrderEventInput } from '../domain/order.js';
import type { Zone } from '../domain/zones.js';
import { decideFleet, ownOptionOf, wantsQuote, type FleetCandidate, type FleetReason } from '../dispatch/fleet-policy.js';
import type { ServiceTimes, TravelModel } from '../dispatch/types.js';
import type { PgOrderRepository } from '../store/pg/order-repository.js';
import { channels, type MessageBus } from '../store/redis/pubsub.js';
import { servicePolicy } from './service-policy.js';
import { haversineTravelModel } from '../dispatch/travel.js';
import { CarrierRegistry, type CarrierEntry } from './carriers.js';
import { coarsen, type TrackPositionMessage } from './courier-tasks.js';
import { DISPATCHER_ACTOR, type FleetOutcome, type FleetPort, type FleetRound } from './dispatcher.js';
import type { OrderLifecycle } from './order-lifecycle.js';

type Logger = Pick<BaseLogger, 'debug' | 'info' | 'warn' | 'error'>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Quotes asked at once in one round. */
const QUOTE_CONCURRENCY = 8;
/** How long the latest carrier courier position is kept for the tracking snapshot (wall ms). */
const POSITION_KEEP_MS = 6 * 3_600_000;

export type CarrierDispatchErrorCode =
  | 'unknown_carrier'
  | 'bad_signature'
  | 'bad_webhook'
  | 'carrier_unavailable'
  | 'carrier_not_cancellable'
  | 'carrier_refused'
  | 'order_changed'
  | 'handoff_pending'
  | 'version_conflict';

export class CarrierDispatchError extends Error {
  constructor(
    readonly code: CarrierDispatchErrorCode,
    readonly status: number,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'CarrierDispatchError';
  }
}

/** A carrier's error as the API answers it: retryable ones are 503, a refusal 502 (409 for not_cancellable). */
function fromCarrier(err: unknown, orderId?: string): unknown {
  if (!(err instanceof CarrierError)) return err;
  const details = { carrier: err.carrier, carrierCode: err.code, ...(orderId ? { orderId } : {}) };
  if (err.retryable) return new CarrierDispatchError('carrier_unavailable', 503, err.message, details);
  if (err.code === 'not_cancellable') return new CarrierDispatchError('carrier_not_cancellable', 409, `${err.message}: the carrier has the goods`, details);
  return new CarrierDispatchError('carrier_refused', 502, err.message, details);
}

export interface CarrierDispatchOptions {
  /** The dispatch policy's time-vs-cost knob. */
  readonly timeWeight: number;
  readonly ownCostPerHour: number;
  readonly travel: TravelModel<LatLng>;
  readonly service: ServiceTimes;
  /** Base URL the carriers POST their webhooks to (resolved when first needed: the port may be 0 until listening). */
  readonly webhookBase: () => string;
}

export interface CarrierPosition {
  readonly lat: number;
  readonly lng: number;
  /** Expected hand-over, epoch ms. */
  readonly eta: number;
  readonly at: number;
  readonly courierId: string;
}

export interface ZoneFinder {
  locate(p: LatLng): Zone | null;
}

export class CarrierDispatch implements FleetPort {
  constructor(
    readonly registry: CarrierRegistry,
    private readonly zones: ZoneFinder,
    private readonly repo: PgOrderRepository,
    private readonly lifecycle: OrderLifecycle,
    private readonly bus: MessageBus,
    private readonly redis: Redis,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: CarrierDispatchOptions,
  ) {}

  /** The carrier the zone of this pickup allows, if it is configured; and whether the zone is carrier-only. */
  carrierFor(pickup: LatLng): { entry: CarrierEntry; only: boolean } | null {
    const zone = this.zones.locate(pickup);
    if (!zone || zone.settings.fleet === 'own' || !zone.settings.carrier) return null;
    const entry = this.registry.get(zone.settings.carrier);
    return entry ? { entry, only: zone.settings.fleet === 'carrier' } : null;
  }

  webhookUrl(name: string): string {
    return `${this.options.webhookBase().replace(/\/$/, '')}/v1/carriers/${encodeURIComponent(name)}/webhooks`;
  }

  // ---- dispatch rounds

  async handOff(round: FleetRound): Promise<ReadonlyMap<string, FleetOutcome>> {
    const out = new Map<string, FleetOutcome>();
    // only orders picked up in a zone that allows a carrier: the rest need no Postgres read or decisions
    const byId = new Map(round.snapshot.orders.filter((o) => this.carrierFor(o.pickup)).map((o) => [o.id, o]));
    if (byId.size === 0) return out;
    const decisions = new Map(round.decisions().map((d) => [d.orderId, d]));
    const candidates: { order: Order; entry: CarrierEntry; c: FleetCandidate }[] = [];
    for (const order of await this.repo.getMany([...byId.keys()])) {
      if (round.versions.get(order.id) !== order.version) continue;
      const carrier = this.carrierFor(order.pickup);
      if (!carrier) continue;
      const snap = byId.get(order.id)!;
      const own = ownOptionOf(decisions.get(order.id), snap, round.snapshot.travel, round.snapshot.service);
      // the snapshot's times are epoch seconds, the decisions' epoch ms: the own option is in ms
      const c: FleetCandidate = {
        orderId: order.id,
        promisedBy: order.promisedBy,
        ownOnly: order.ownOnly,
        offerOpen: order.status === 'offered',
        carrier: carrier.entry.name,
        carrierOnly: carrier.only,
        own,
        quote: null,
      };
      candidates.push({ order, entry: carrier.entry, c });
    }
    const quotes = new Map<string, CarrierQuote>();
    const toQuote = candidates.filter(({ c }) => wantsQuote(c));
    for (let i = 0; i < toQuote.length; i += QUOTE_CONCURRENCY) {
      await Promise.all(
        toQuote.slice(i, i + QUOTE_CONCURRENCY).map(async ({ order, entry }) => {
          try {
            quotes.set(order.id, await entry.adapter.quote(this.request(order)));
          } catch (err) {
            this.log.warn({ err, orderId: order.id, carrier: entry.name }, 'carrier quote failed: the order stays with the own fleet');
          }
        }),
      );
    }
    await Promise.all(
      candidates.map(async ({ order, entry, c }) => {
        const quote = quotes.get(order.id) ?? null;
        const verdict = decideFleet({ ...c, quote: quote ? { fee: quote.fee, dropoffEta: quote.dropoffEta } : null }, { timeWeight: this.options.timeWeight, ownCostPerHour: this.options.ownCostPerHour, margin: () => entry.margin });
        const note = {
          fleet: verdict.fleet,
          reason: verdict.reason as string,
          carrier: entry.name,
          ...(verdict.ownCost !== undefined ? { ownCost: Math.round(verdict.ownCost * 100) / 100 } : {}),
          ...(quote ? { carrierFee: quote.fee, carrierDropoffEta: quote.dropoffEta } : {}),
        };
        if (verdict.fleet === 'own') return void out.set(order.id, { ...note, handedOff: false });
        try {
          const handed = await this.handOffOrder(order, entry, quote, verdict.reason, DISPATCHER_ACTOR, false);
          out.set(order.id, { ...note, deliveryId: handed.carrierDeliveryId ?? undefined, handedOff: true });
        } catch (err) {
          this.log.warn({ err, orderId: order.id, carrier: entry.name }, 'carrier hand-off failed: the order stays with the own fleet');
          out.set(order.id, { ...note, fleet: 'own', reason: `own: carrier hand-off failed (${(err as { code?: string }).code ?? 'error'})`, handedOff: false });
        }
      }),
    );
    return out;
  }

  private request(order: Order) {
    return { pickup: order.pickup, dropoff: order.dropoff, size: order.size, readyAt: Math.max(order.readyAt, this.clock.now()) };
  }

  /**
   * Creates the carrier delivery, then commits `carrier_requested` on the order as it was (`order`'s
   * version); if the order changed meanwhile the delivery is cancelled again and `order_changed` thrown.
   */
  async handOffOrder(order: Order, entry: CarrierEntry, quote: CarrierQuote | null, reason: FleetReason | 'dispatcher', actor: Actor, forced: boolean): Promise<Order> {
    const delivery = await entry.adapter.createDelivery({
      ...this.request(order),
      externalId: `${order.id}:${order.version}`,
      ...(quote ? { quoteId: quote.quoteId } : {}),
      webhookUrl: this.webhookUrl(entry.name),
    });
    if (isCarrierFinal(delivery.status)) {
      throw new CarrierError(entry.name, 'delivery_ended', `carrier ${entry.name} answered with a delivery that is already ${delivery.status}`, false);
    }
    const input: OrderEventInput = {
      type: 'carrier_requested',
      carrier: entry.name,
      deliveryId: delivery.deliveryId,
      cost: delivery.fee,
      reason,
      pickupEta: delivery.pickupEta,
      dropoffEta: delivery.dropoffEta,
      ...(forced ? { forced: true } : {}),
    };
    try {
      const { order: handed } = await this.lifecycle.apply(
        order.id,
        input,
        actor,
        (current) => {
          if (current.version !== order.version) {
            throw new CarrierDispatchError('order_changed', 409, `order ${order.id} changed during the hand-off`, { orderId: order.id, expectedVersion: order.version, version: current.version });
          }
        },
        async (tx, change) => {
          // taken from an own courier before pickup (a dispatcher's force): that assignment ends
          if (order.courierId && (order.status === 'assigned' || order.status === 'at_pickup')) await tx.endAssignment(order.id, 'reassigned', change.event.at);
        },
      );
      this.log.info({ orderId: order.id, carrier: entry.name, deliveryId: delivery.deliveryId, fee: delivery.fee, reason }, 'order handed to carrier');
      return handed;
    } catch (err) {
      await entry.adapter.cancel(delivery.deliveryId).catch((e: unknown) => this.log.warn({ err: e, orderId: order.id, deliveryId: delivery.deliveryId }, 'could not cancel the carrier delivery of a failed hand-off'));
      throw err;
    }
  }

  // ---- dispatcher's force and the store's cancel

  /** A dispatcher forces the fleet: `own` (ownOnly; a carrier order before pickup comes back) or a carrier (now). */
  async force(orderId: string, fleet: string, actor: Actor, expectedVersion?: number): Promise<Order> {
    const order = await this.repo.get(orderId);
    if (!order) throw new OrderError('not_your_order', `order ${orderId} not found`, { orderId });
    if (expectedVersion !== undefined && expectedVersion !== order.version) {
      throw new CarrierDispatchError('version_conflict', 409, `order ${orderId} changed; reload it and decide again`, { orderId, expectedVersion, version: order.version });
    }
    const now = this.clock.now();
    if (fleet === 'own') {
      applyOrderEvent(order, { type: 'fleet_forced', fleet: 'own', reason: 'dispatcher' }, actor, now);
      if (order.fleet !== 'own' && order.carrierDeliveryId) {
        await this.cancelAtCarrier(order);
        const after = await this.repo.get(orderId);
        // the carrier's `cancelled` webhook may have brought it back already
        if (after && after.fleet === 'own' && after.ownOnly) return after;
      }
      const { order: changed } = await this.lifecycle.apply(orderId, { type: 'fleet_forced', fleet: 'own', reason: 'dispatcher' }, actor);
      this.log.info({ orderId, previousFleet: order.fleet, actor }, 'own fleet forced by dispatcher');
      return changed;
    }
    const entry = this.registry.get(fleet);
    if (!entry) throw new CarrierDispatchError('unknown_carrier', 404, `no carrier named ${fleet}`, { carrier: fleet, field: 'fleet' });
    // refuse before asking the carrier anything (offer open, picked up, already with a carrier, …)
    applyOrderEvent(order, { type: 'carrier_requested', carrier: fleet, deliveryId: '-', cost: { amount: 0, currency: 'EUR' }, reason: 'dispatcher', pickupEta: now, dropoffEta: now, forced: true }, actor, now);
    try {
      const quote = await entry.adapter.quote(this.request(order));
      return await this.handOffOrder(order, entry, quote, 'dispatcher', actor, true);
    } catch (err) {
      throw fromCarrier(err, orderId);
    }
  }

  /** Before a store (or dispatcher) cancels a carrier order: the carrier cancels its delivery first. */
  async beforeCancel(order: Order): Promise<void> {
    if (order.fleet === 'own' || !order.carrierDeliveryId) return;
    await this.cancelAtCarrier(order);
  }

  private async cancelAtCarrier(order: Order): Promise<void> {
    const entry = this.registry.get(order.fleet);
    if (!entry || !order.carrierDeliveryId) return;
    try {
      await entry.adapter.cancel(order.carrierDeliveryId);
    } catch (err) {
      // a carrier that lost the delivery has nothing to cancel
      if (err instanceof CarrierError && err.code === 'delivery_not_found') return;
      throw fromCarrier(err, order.id);
    }
  }

  // ---- webhooks

  /** One carrier webhook: checked, then applied; resolves when it may be answered 2xx. */
  async webhook(name: string, headers: Readonly<Record<string, string | string[] | undefined>>, rawBody: string): Promise<{ applied: boolean; note?: string }> {
    const entry = this.registry.get(name);
    if (!entry) throw new CarrierDispatchError('unknown_carrier', 404, `no carrier named ${name}`, { carrier: name });
    let update: CarrierUpdate;
    try {
      update = entry.adapter.parseWebhook(headers, rawBody, Date.now());
    } catch (err) {
      if (err instanceof CarrierError && err.code === 'bad_signature') throw new CarrierDispatchError('bad_signature', 401, err.message, { carrier: name });
      throw new CarrierDispatchError('bad_webhook', 400, (err as Error).message, { carrier: name });
    }
    const orderId = update.externalId.split(':')[0];
    const order = UUID.test(orderId) ? await this.repo.get(orderId) : null;
    if (!order) {
      this.log.warn({ carrier: name, externalId: update.externalId, deliveryId: update.deliveryId }, 'carrier webhook for an unknown order ignored');
      return { applied: false, note: 'unknown_order' };
    }
    if (order.fleet !== name || order.carrierDeliveryId !== update.deliveryId) return this.stray(entry, order, update);
    if (update.kind === 'location') return this.position(order, update);
    try {
      await this.lifecycle.apply(
        order.id,
        { type: 'carrier_status', status: update.status, carrierEventId: update.eventId, reportedAt: update.at, ...(update.reason ? { reason: update.reason } : {}) },
        { role: 'system', id: `carrier:${name}` },
        (current) => {
          if (current.fleet !== name || current.carrierDeliveryId !== update.deliveryId) throw new OrderError('illegal_transition', `order ${order.id} no longer has delivery ${update.deliveryId}`);
        },
      );
      this.log.info({ orderId: order.id, carrier: name, status: update.status }, 'carrier status applied');
      return { applied: true };
    } catch (err) {
      // a retried or replayed webhook, or an order that ended meanwhile: nothing to do
      if (err instanceof OrderError && (err.code === 'carrier_status_stale' || err.code === 'illegal_transition')) return { applied: false, note: err.code };
      throw err;
    }
  }

  /**
   * A webhook of a delivery the order does not hold: while the order is open a hand-off may be committing
   * right now (answer 503, the carrier retries); otherwise it is an orphan of a lost hand-off, cancelled.
   */
  private async stray(entry: CarrierEntry, order: Order, update: CarrierUpdate): Promise<{ applied: boolean; note: string }> {
    if (OPEN_STATUSES.includes(order.status)) {
      throw new CarrierDispatchError('handoff_pending', 503, `order ${order.id} does not hold delivery ${update.deliveryId} yet`, { orderId: order.id });
    }
    if (update.kind === 'status' && isCarrierFinal(update.status)) return { applied: false, note: 'stray_final' };
    await entry.adapter.cancel(update.deliveryId).catch((err: unknown) => this.log.warn({ err, orderId: order.id, deliveryId: update.deliveryId }, 'could not cancel a stray carrier delivery'));
    this.log.warn({ orderId: order.id, carrier: entry.name, deliveryId: update.deliveryId }, 'stray carrier delivery cancelled');
    return { applied: false, note: 'stray_cancelled' };
  }

  private async position(order: Order, u: Extract<CarrierUpdate, { kind: 'location' }>): Promise<{ applied: boolean; note?: string }> {
    if (!['assigned', 'at_pickup', 'picked_up', 'at_dropoff'].includes(order.status)) return { applied: false, note: 'not_on_the_way' };
    const beforePickup = order.status === 'assigned' || order.status === 'at_pickup';
    // the carrier's ETA is of its next stop: before pickup, add the ride to the drop-off
    const ride = this.options.travel.seconds(order.pickup, order.dropoff) + this.options.service.pickupS / 2 + this.options.service.dropoffS / 2;
    const eta = beforePickup ? u.eta + Math.round(ride * 1000) : u.eta;
    const pos: CarrierPosition = { lat: u.lat, lng: u.lng, eta, at: u.at, courierId: u.courierId };
    const key = positionKey(order.id);
    const previous = await this.redis.get(key);
    if (previous && (JSON.parse(previous) as CarrierPosition).at >= u.at) return { applied: false, note: 'stale_position' };
    await this.redis.set(key, JSON.stringify(pos), 'PX', POSITION_KEEP_MS);
    const p = beforePickup ? coarsen(u) : { lat: u.lat, lng: u.lng };
    const track: TrackPositionMessage = { type: 'position', orderId: order.id, status: order.status, lat: p.lat, lng: p.lng, coarse: beforePickup, eta, at: u.at };
    const store = { type: 'order.position', orderId: order.id, externalId: order.externalId, fleet: order.fleet, status: order.status, lat: p.lat, lng: p.lng, coarse: beforePickup, eta, at: u.at };
    await Promise.all([this.bus.publish(channels.track(order.id), track), this.bus.publish(channels.store(order.storeId), store)]);
    return { applied: true };
  }

  /** The latest position of the carrier courier of an order (tracking snapshot). */
  async latestPosition(orderId: string): Promise<CarrierPosition | null> {
    const raw = await this.redis.get(positionKey(orderId));
    return raw ? (JSON.parse(raw) as CarrierPosition) : null;
  }
}

const positionKey = redisKeys.carrierPosition;

declare module 'fastify' {
  interface FastifyInstance {
    /** The hybrid-fleet hand-off; null when CARRIERS is empty. */
    carrierDispatch: CarrierDispatch | null;
  }
}

export const carrierServices = fp(
  async function carrierServices(app: FastifyInstance) {
    const { config } = app;
    const registry = CarrierRegistry.fromConfig(config.carriers, config.carrierTimeoutMs);
    if (registry.size === 0) {
      app.decorate('carrierDispatch', null);
      return;
    }
    const webhookBase = () => {
      if (config.carrierWebhookBaseUrl) return config.carrierWebhookBaseUrl;
      const addr = app.server.address();
      const port = addr && typeof addr === 'object' ? addr.port : config.port;
      const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
      return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    };
    const carriers = new CarrierDispatch(registry, app.zones, app.orders.repo, app.orders.lifecycle, app.orders.bus, app.redis, app.clock, app.log.child({ feature: 'carriers' }), {
      timeWeight: servicePolicy(config).timeWeight,
      ownCostPerHour: config.carrierOwnCostPerHour,
      travel: haversineTravelModel(config.courierSpeedMps),
      service: { pickupS: config.pickupServiceS, dropoffS: config.dropoffServiceS },
      webhookBase,
    });
    app.decorate('carrierDispatch', carriers);
    app.orders.offers.beforeCancel = (order) => carriers.beforeCancel(order);
    app.log.info({ carriers: registry.names() }, 'carriers configured');
  },
  { name: 'dispatchd-carriers', fastify: '5.x', dependencies: ['dispatchd-core', 'dispatchd-orders', 'dispatchd-zones'] },
);
