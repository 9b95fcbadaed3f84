/**
 * Dispatcher overrides of orders: assign + pin to a courier, unassign, change the priority. Each is an
 * order event with the dispatcher (or admin) as actor, written like every other change (row + event +
 * webhook outbox in one transaction) and followed by the usual post-commit work (open pool, store and
 * tracking sockets, the courier's task).
 *
 * - Assigning an order under an open offer withdraws that offer in the same transaction (the other
 *   orders of the bundle go back to the pool, nobody is excluded) and its courier gets
 *   `offer.withdrawn`; moving an order from courier A to B before pickup ends A's assignment row,
 *   starts B's, and both couriers' tasks are refreshed.
 * - The target courier must be online (a position fresher than STALE_AFTER_MS) and not paused.
 * - Overrides are not retried on a concurrent change: a dispatcher decided on what they saw, so when
 *   the order moved on in the meantime (another override, an accept, a cancel) the override is refused
 *   with `version_conflict` instead of being re-applied to a state nobody looked at. A caller may also
 *   pass the `version` it saw; anything else changed since is refused the same way.
 */
import type { BaseLogger } from 'pino';
import type { Clock } from '../clock.js';
import {
  applyOrderEvent,
  type Actor,
  type Order,
  type OrderEventInput,
  type OrderStatus,
} from '../domain/order.js';
import { OrderStoreError, type OrderTx, type PgOrderRepository } from '../store/pg/order-repository.js';
import { channels, type MessageBus } from '../store/redis/pubsub.js';
import type { OfferService, WithdrawnOffer } from './offers.js';
import type { Change, CourierTaskChanged, OrderLifecycle } from './order-lifecycle.js';

type Logger = Pick<BaseLogger, 'debug' | 'info' | 'warn' | 'error'>;

export type OverrideErrorCode = 'courier_offline' | 'courier_paused';

export class OverrideError extends Error {
  constructor(
    readonly code: OverrideErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'OverrideError';
  }
}

/** What an assignment needs to know about the target courier. */
export interface CourierAvailability {
  /** A position fresher than the stale limit. */
  isOnline(courierId: string): Promise<boolean>;
  /** Paused by a dispatcher: no new work. */
  isPaused(courierId: string): Promise<boolean>;
}

/** Statuses in which a courier is bound to the order and has not picked it up. */
const BOUND_BEFORE_PICKUP: readonly OrderStatus[] = ['assigned', 'at_pickup'];

function conflict(orderId: string, details: Record<string, unknown> = {}): OrderStoreError {
  return new OrderStoreError('version_conflict', `order ${orderId} changed while the override was applied; reload it and decide again`, {
    orderId,
    ...details,
  });
}

/** Postgres refusals that mean "someone else changed it at the same moment". */
function isRace(err: unknown): boolean {
  const e = err as { code?: string; constraint?: string };
  return e.code === '40001' || e.code === '40P01' || (e.code === '23505' && e.constraint === 'assignments_one_open_per_order');
}

export class OrderOverrides {
  constructor(
    private readonly lifecycle: OrderLifecycle,
    private readonly repo: PgOrderRepository,
    private readonly offers: OfferService,
    private readonly bus: MessageBus,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly couriers: CourierAvailability,
  ) {}

  /**
   * What a dispatcher may hand work to by hand (assign, and a manual offer): an online courier (a position
   * fresher than the stale limit) who is not paused. Throws `courier_offline` or `courier_paused`.
   */
  async checkCourier(courierId: string): Promise<void> {
    if (!(await this.couriers.isOnline(courierId))) {
      throw new OverrideError('courier_offline', `courier ${courierId} has no recent position`, { courierId });
    }
    if (await this.couriers.isPaused(courierId)) throw new OverrideError('courier_paused', `courier ${courierId} is paused`, { courierId });
  }

  /** Assigns the order to `courierId` and pins it there. */
  async assign(orderId: string, courierId: string, actor: Actor, expectedVersion?: number): Promise<Order> {
    const input: OrderEventInput = { type: 'dispatcher_assigned', courierId };
    const before = await this.precheck(orderId, input, actor, expectedVersion);
    await this.checkCourier(courierId);

    let withdrawn: WithdrawnOffer | null = null;
    const changes = await this.once(orderId, async (tx) => {
      withdrawn = null;
      const current = await this.loadUnchanged(tx, before);
      const now = this.clock.now();
      const out: Change[] = [];
      if (current.status === 'offered' && current.offerId && current.courierId) {
        // the open offer goes first: its other orders back to the pool, this one to the new courier
        const offerId = current.offerId;
        const offerCourier = current.courierId;
        const ids = (await tx.getOffer(offerId, offerCourier))?.orderIds ?? [orderId];
        for (const id of [...ids].sort()) {
          if (id === orderId) {
            out.push(await this.save(tx, current, input, actor, now));
            continue;
          }
          const other = await tx.load(id);
          if (other.status !== 'offered' || other.offerId !== offerId) continue;
          out.push(await this.save(tx, other, { type: 'offer_withdrawn', offerId, courierId: offerCourier }, actor, now));
        }
        if (!(await tx.closeOffer(offerId, offerCourier, 'withdrawn', now, 'dispatcher override'))) throw conflict(orderId, { offerId });
        withdrawn = { offerId, courierId: offerCourier, orderIds: ids };
      } else {
        out.push(await this.save(tx, current, input, actor, now));
      }
      const bound = BOUND_BEFORE_PICKUP.includes(current.status);
      if (!(bound && current.courierId === courierId)) {
        if (bound) await tx.endAssignment(orderId, 'reassigned', now);
        await tx.startAssignment(orderId, courierId, null, now, actor);
      }
      return out;
    });

    const w = withdrawn as WithdrawnOffer | null;
    if (w) await this.offers.withdrawn(w, changes);
    else await this.lifecycle.afterCommit(changes);
    const change = changes.find((c) => c.order.id === orderId)!;
    // the courier it was taken from (the new one hears it through the usual post-commit notice)
    const previous = BOUND_BEFORE_PICKUP.includes(before.status) ? before.courierId : null;
    if (previous && previous !== courierId) await this.tellCourier(previous, change, 'reassigned');
    this.log.info({ orderId, courierId, previousCourierId: before.courierId, offerId: w?.offerId, actor }, 'order assigned by dispatcher');
    return change.order;
  }

  /** Takes the order back from its courier (before pickup): open again, unpinned. */
  async unassign(orderId: string, actor: Actor, expectedVersion?: number): Promise<Order> {
    const input: OrderEventInput = { type: 'dispatcher_unassigned' };
    const before = await this.precheck(orderId, input, actor, expectedVersion);
    const change = await this.once(orderId, async (tx) => {
      const current = await this.loadUnchanged(tx, before);
      const now = this.clock.now();
      const c = await this.save(tx, current, input, actor, now);
      await tx.endAssignment(orderId, 'unassigned', now);
      return c;
    });
    // the courier hears it through the post-commit notice (the event names it)
    await this.lifecycle.afterCommit([change]);
    this.log.info({ orderId, courierId: before.courierId, actor }, 'order unassigned by dispatcher');
    return change.order;
  }

  /** 0..10, higher is more urgent; the open pool (and so the optimizer) sees it at once. */
  async setPriority(orderId: string, priority: number, actor: Actor, expectedVersion?: number): Promise<Order> {
    const input: OrderEventInput = { type: 'priority_changed', priority };
    const before = await this.precheck(orderId, input, actor, expectedVersion);
    const change = await this.once(orderId, async (tx) => this.save(tx, await this.loadUnchanged(tx, before), input, actor, this.clock.now()));
    await this.lifecycle.afterCommit([change]);
    this.log.info({ orderId, priority, actor }, 'order priority changed');
    return change.order;
  }

  /**
   * Reads the order and dry-runs the command on it, so a refusal (unknown order, not assignable, …)
   * comes before anything else is looked at. The transaction checks again on the row it locks.
   */
  private async precheck(orderId: string, input: OrderEventInput, actor: Actor, expectedVersion?: number): Promise<Order> {
    const order = await this.repo.get(orderId);
    if (!order) throw new OrderStoreError('order_not_found', `order ${orderId} not found`, { orderId });
    if (expectedVersion !== undefined && expectedVersion !== order.version) {
      throw conflict(orderId, { expectedVersion, version: order.version });
    }
    applyOrderEvent(order, input, actor, this.clock.now());
    return order;
  }

  /** The order as `before` saw it, or a conflict: the override was decided on that state. */
  private async loadUnchanged(tx: OrderTx, before: Order): Promise<Order> {
    const current = await tx.load(before.id);
    if (current.version !== before.version) throw conflict(before.id, { expectedVersion: before.version, version: current.version });
    return current;
  }

  private async save(tx: OrderTx, current: Order, input: OrderEventInput, actor: Actor, now: number): Promise<Change> {
    const { order, event } = applyOrderEvent(current, input, actor, now);
    return { order, event: await tx.save(current, order, event) };
  }

  /** One transaction, no retry (see the file comment); races Postgres detects are conflicts too. */
  private async once<T>(orderId: string, fn: (tx: OrderTx) => Promise<T>): Promise<T> {
    try {
      return await this.repo.transaction(fn);
    } catch (err) {
      if (isRace(err)) throw conflict(orderId);
      throw err;
    }
  }

  private async tellCourier(courierId: string, { order, event }: Change, reason: string): Promise<void> {
    const msg: CourierTaskChanged = { type: 'task.changed', orderId: order.id, status: order.status, event: event.type, reason };
    await this.bus.publish(channels.courier(courierId), msg).catch((err: unknown) => {
      this.log.error({ err, orderId: order.id, courierId }, 'could not tell the previous courier');
    });
  }
}
