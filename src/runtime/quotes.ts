/**
 * Quotes (`POST /v1/quotes`): for a pickup, a drop-off and a size, every delivery option the pickup's
 * zone sells now — fee (domain/fees.ts) and promise (domain/delivery-promise.ts) from the live supply
 * picture (quote-supply.ts) — or the reason it cannot be sold. Stored in Redis so an order can be
 * placed against it until `expiresAt`. Decorated as `app.quotes`.
 */
import { randomUUID } from 'node:crypto';
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../clock.js';
import { haversineMeters } from '../dispatch/travel.js';
import type { DeliveryOption, ServiceTimes, TravelModel } from '../dispatch/types.js';
import { quotedPromise, windowProblem } from '../domain/delivery-promise.js';
import { deliveryFee } from '../domain/fees.js';
import type { LatLng } from '../domain/geo.js';
import type { TimeWindow } from '../domain/order.js';
import type { Quote, QuotedOption, UnavailableOption } from '../domain/quote.js';
import { isZoneOpenAt } from '../domain/zones.js';
import { RedisQuoteStore } from '../store/redis/quotes.js';
import { snapshotWiring } from './dispatch-loop.js';
import { zonesOf, type ZoneLocator } from './order-lifecycle.js';
import { QuoteSupply } from './quote-supply.js';

export interface QuoteRequest {
  readonly pickup: LatLng;
  readonly dropoff: LatLng;
  readonly items: number;
  readonly size?: number;
  /** When the goods will be ready (epoch ms); default now. */
  readonly readyAt?: number;
  /** Options wanted; default every option the zone sells (scheduled only with windows). */
  readonly options?: readonly DeliveryOption[];
  readonly windows?: readonly TimeWindow[];
}

export interface QuoteServiceOptions {
  readonly ttlMs: number;
  readonly travel: TravelModel<LatLng>;
  readonly service: ServiceTimes;
}

const ALL_OPTIONS: readonly DeliveryOption[] = ['express', 'standard', 'scheduled'];

export class QuoteService {
  constructor(
    private readonly zones: ZoneLocator,
    readonly supply: QuoteSupply,
    private readonly store: RedisQuoteStore,
    private readonly clock: Clock,
    private readonly options: QuoteServiceOptions,
  ) {}

  async quote(storeId: string, req: QuoteRequest): Promise<Quote> {
    const { pickup: zone } = zonesOf(this.zones, req);
    const picture = await this.supply.current();
    const now = this.clock.now();
    const size = req.size ?? 1;
    const distanceM = Math.round(haversineMeters(req.pickup, req.dropoff));
    const load = picture.perZone.get(zone.id) ?? { openOrders: 0, freeCouriers: 0 };
    const base = {
      now,
      courierAtPickup: this.supply.courierAtPickup(picture, req.pickup, size, now),
      readyAt: Math.max(req.readyAt ?? now, now),
      tripS: this.options.travel.seconds(req.pickup, req.dropoff),
      pickupS: this.options.service.pickupS,
      dropoffS: this.options.service.dropoffS,
      safetyMarginMin: zone.settings.safetyMarginMin,
    };
    const wanted = req.options ?? ALL_OPTIONS.filter((o) => zone.settings.options[o] && (o !== 'scheduled' || (req.windows?.length ?? 0) > 0));
    const offered: QuotedOption[] = [];
    const unavailable: UnavailableOption[] = [];
    for (const option of wanted) {
      const settings = zone.settings.options[option];
      const windows: (TimeWindow | undefined)[] = option === 'scheduled' ? [...(req.windows ?? [])] : [undefined];
      const refuse = (reason: UnavailableOption['reason'], window?: TimeWindow) => unavailable.push(window ? { option, window, reason } : { option, reason });
      for (const window of windows) {
        if (!settings) refuse('option_not_offered', window);
        else if (zone.settings.fleet === 'carrier') refuse('no_own_fleet', window);
        else if (!isZoneOpenAt(zone.settings, window ? window.from : now)) refuse('zone_closed', window);
        else {
          const fee = deliveryFee(zone.settings.fee, { tripM: distanceM, ...load, extra: settings.feeExtra, surge: option !== 'scheduled' });
          const money = { amount: fee.amount, currency: fee.currency };
          if (window) {
            const problem = windowProblem(window, { ...base, floorMin: settings.promiseMin });
            if (problem) refuse(problem, window);
            else offered.push({ option, fee: money, promisedBy: window.to, window, fleet: 'own' });
          } else {
            const promise = quotedPromise({ ...base, floorMin: settings.promiseMin, maxMin: settings.maxMin });
            if ('reason' in promise) refuse(promise.reason);
            else offered.push({ option, fee: money, promisedBy: promise.promisedBy, fleet: 'own' });
          }
        }
      }
    }
    const quote: Quote = {
      quoteId: randomUUID(),
      storeId,
      zoneId: zone.id,
      createdAt: now,
      expiresAt: now + this.options.ttlMs,
      pickup: { lat: req.pickup.lat, lng: req.pickup.lng },
      dropoff: { lat: req.dropoff.lat, lng: req.dropoff.lng },
      items: req.items,
      size,
      distanceM,
      options: offered,
      unavailable,
    };
    await this.store.put(quote);
    return quote;
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    quotes: QuoteService;
  }
}

export const quoteServices = fp(
  async function quoteServices(app: FastifyInstance) {
    const { config } = app;
    const log = app.log.child({ feature: 'quotes' });
    const { sources, options } = snapshotWiring(app);
    const supply = new QuoteSupply(sources, options, app.zones, app.clock, config.quoteSupplyRefreshMs, (err) => log.error({ err }, 'quote supply refresh failed'));
    const service = new QuoteService(app.zones, supply, new RedisQuoteStore(app.redis, 2 * config.quoteTtlMs), app.clock, {
      ttlMs: config.quoteTtlMs,
      travel: options.travel,
      service: options.service,
    });
    app.decorate('quotes', service);
  },
  { name: 'dispatchd-quotes', fastify: '5.x', dependencies: ['dispatchd-core', 'dispatchd-zones', 'dispatchd-orders', 'dispatchd-courier-socket'] },
);
