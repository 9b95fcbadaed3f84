/**
 * Third-party carriers (the hybrid fleet of issue 13), pure types: what dispatchd asks a carrier and
 * what comes back. An adapter speaks one carrier's API (runtime/carrier-http.ts speaks the documented
 * API of docs/carrier-api.md, which the simulator `npm run carrier:sim` serves): quote, create a delivery
 * under dispatchd's order id, cancel it, and turn the carrier's signed webhooks into updates — statuses
 * on the order lifecycle and the carrier courier's positions. Times are epoch milliseconds.
 */
import type { Money } from './fees.js';
import type { LatLng } from './geo.js';

export interface CarrierPlace extends LatLng {
  readonly address?: string;
}

export interface CarrierQuoteRequest {
  readonly pickup: CarrierPlace;
  readonly dropoff: CarrierPlace;
  readonly size: number;
  /** When the goods are ready; default now. */
  readonly readyAt?: number;
}

export interface CarrierQuote {
  readonly carrier: string;
  readonly quoteId: string;
  readonly fee: Money;
  readonly pickupEta: number;
  readonly dropoffEta: number;
  readonly expiresAt: number;
}

export interface CarrierDeliveryRequest extends CarrierQuoteRequest {
  /** dispatchd's order id: the carrier is idempotent on it. */
  readonly externalId: string;
  readonly quoteId?: string;
  /** Where the carrier POSTs its signed updates. */
  readonly webhookUrl: string;
}

/** The carrier's lifecycle, mapped onto the order's (assigned … delivered, failed, cancelled). */
export const CARRIER_STATUSES = ['created', 'courier_assigned', 'at_pickup', 'picked_up', 'at_dropoff', 'delivered', 'failed', 'cancelled'] as const;
export type CarrierStatus = (typeof CARRIER_STATUSES)[number];

export interface CarrierDelivery {
  readonly carrier: string;
  readonly deliveryId: string;
  readonly externalId: string;
  readonly status: CarrierStatus;
  readonly fee: Money;
  readonly pickupEta: number;
  readonly dropoffEta: number;
}

export type CarrierUpdate =
  | {
      readonly kind: 'status';
      readonly eventId: string;
      readonly deliveryId: string;
      readonly externalId: string;
      readonly at: number;
      readonly status: CarrierStatus;
      readonly reason?: string;
    }
  | {
      readonly kind: 'location';
      readonly eventId: string;
      readonly deliveryId: string;
      readonly externalId: string;
      readonly at: number;
      readonly courierId: string;
      readonly lat: number;
      readonly lng: number;
      /** The carrier's estimate of the next stop (pickup before pickup, else drop-off). */
      readonly eta: number;
    };

/** A refusal by the carrier or its transport: `retryable` when asking again may work (5xx, timeout). */
export class CarrierError extends Error {
  constructor(
    readonly carrier: string,
    readonly code: string,
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'CarrierError';
  }
}

export interface CarrierAdapter {
  readonly name: string;
  quote(req: CarrierQuoteRequest): Promise<CarrierQuote>;
  createDelivery(req: CarrierDeliveryRequest): Promise<CarrierDelivery>;
  cancel(deliveryId: string): Promise<CarrierDelivery>;
  get(deliveryId: string): Promise<CarrierDelivery>;
  /**
   * A webhook request as received (headers lower-case, the raw body) → its update; throws
   * CarrierError `bad_signature` when it is not signed by the carrier (or too old: a replay).
   */
  parseWebhook(headers: Readonly<Record<string, string | string[] | undefined>>, rawBody: string, now: number): CarrierUpdate;
}

/** Order-lifecycle meaning of a carrier status: where the order moves when the carrier reports it. */
export function isCarrierFinal(status: CarrierStatus): boolean {
  return status === 'delivered' || status === 'failed' || status === 'cancelled';
}
