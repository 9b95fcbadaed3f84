/**
 * The simulated stores (one per MDRP restaurant, each with its own store token): each order is placed
 * over HTTP `POST /v1/orders` at its placement minute on the service clock, with its real placement
 * time. Ready times are either known at placement (the published MDRP setting: the store announces
 * the ready time at once with `POST /v1/orders/:id/ready {readyAt}`) or revealed (the store says
 * `ready` when the food is ready). Requests go through the typed client (`@dispatchd/client`), so the
 * demo exercises it every day.
 */
import { createHttpClient, type HttpClient } from '@dispatchd/client';
import { ClockTimers } from './clock-timers.js';
import type { Clock } from '../../clock.js';
import type { Logger } from '../../logger.js';
import type { MdrpInstance, MdrpOrder } from '../mdrp/instance.js';
import type { Projection } from './projection.js';
import type { Timeline } from './timeline.js';

export interface StoreSimOptions {
  readonly baseUrl: string;
  readonly clock: Clock;
  readonly timeline: Timeline;
  readonly projection: Projection;
  readonly instance: MdrpInstance;
  /** Store token for a restaurant id. */
  readonly tokenFor: (restaurantId: string) => string;
  /** True: ready time announced at placement; false: `ready` sent when the food is ready. */
  readonly readyKnown: boolean;
  readonly log: Logger;
  readonly onPlaced?: (order: MdrpOrder) => void;
}

export interface StoreSimStats {
  placed: number;
  failed: number;
  /** Service-clock ms by which placements left after their placement minute. */
  placeLagMs: number[];
}

export class StoreSim {
  readonly stats: StoreSimStats = { placed: 0, failed: 0, placeLagMs: [] };
  /** MDRP order id → service order id. */
  readonly serviceIds = new Map<string, string>();
  private readonly timers: ClockTimers;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly opts: StoreSimOptions) {
    this.timers = new ClockTimers(opts.clock);
  }

  /** Schedules every order of the instance on the clock. */
  start(): void {
    for (const order of this.opts.instance.orders) {
      this.timers.at(this.opts.timeline.toMs(order.placementTime), () => this.track(this.place(order)));
    }
  }

  stop(): void {
    this.timers.cancelAll();
  }

  /** Waits for requests under way. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private readonly clients = new Map<string, HttpClient>();

  /** One typed HTTP client per restaurant, with its store token. */
  private client(restaurantId: string): HttpClient {
    let client = this.clients.get(restaurantId);
    if (!client) {
      client = createHttpClient({ baseUrl: this.opts.baseUrl, token: () => this.opts.tokenFor(restaurantId) });
      this.clients.set(restaurantId, client);
    }
    return client;
  }

  private async place(order: MdrpOrder): Promise<void> {
    const { timeline, projection, instance, log } = this.opts;
    const placedAt = timeline.toMs(order.placementTime);
    const readyAt = timeline.toMs(order.readyTime);
    this.stats.placeLagMs.push(this.opts.clock.now() - placedAt);
    const restaurant = instance.restaurants.get(order.restaurantId)!;
    try {
      const { data, error, response } = await this.client(order.restaurantId).POST('/v1/orders', {
        body: {
          externalId: order.id,
          pickup: projection.toLatLng(restaurant),
          dropoff: projection.toLatLng(order.customer),
          items: 1,
          option: 'standard',
          placedAt,
          ...(this.opts.readyKnown ? { readyAt } : {}),
        },
      });
      if (!data) throw new Error(`POST /v1/orders answered ${response.status} ${JSON.stringify(error)}`);
      const id = data.id;
      this.serviceIds.set(order.id, id);
      this.stats.placed++;
      this.opts.onPlaced?.(order);
      if (this.opts.readyKnown) await this.ready(order, id, readyAt);
      else this.timers.at(readyAt, () => this.track(this.ready(order, id, readyAt)));
    } catch (err) {
      this.stats.failed++;
      log.error({ err, orderId: order.id }, 'simulated store could not place an order');
    }
  }

  private async ready(order: MdrpOrder, id: string, readyAt: number): Promise<void> {
    try {
      const { error, response } = await this.client(order.restaurantId).POST('/v1/orders/{id}/ready', { params: { path: { id } }, body: { readyAt } });
      // the courier waiting for the food reports the pickup at the same instant: both are right
      if (response.status === 409 && error?.code === 'illegal_transition') return;
      if (response.status !== 200) throw new Error(`POST /v1/orders/${id}/ready answered ${response.status} ${JSON.stringify(error)}`);
    } catch (err) {
      this.opts.log.error({ err, orderId: order.id }, 'simulated store could not mark an order ready');
    }
  }
}
