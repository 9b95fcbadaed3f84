/**
 * The HTTP carrier adapter: the CarrierAdapter of domain/carrier.ts over the carrier API documented in
 * docs/carrier-api.md (modelled on DoorDash Drive / Uber Direct: quote → delivery with our external id
 * → signed webhooks). Carrier errors become CarrierError (`retryable` for 5xx, timeouts, network).
 */
import {
  CARRIER_STATUSES,
  CarrierError,
  type CarrierAdapter,
  type CarrierDelivery,
  type CarrierDeliveryRequest,
  type CarrierQuote,
  type CarrierQuoteRequest,
  type CarrierStatus,
  type CarrierUpdate,
} from '../domain/carrier.js';
import { verifySignature } from './webhook-sender.js';

export const CARRIER_SIGNATURE_HEADER = 'x-carrier-signature';

export interface HttpCarrierOptions {
  readonly name: string;
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly webhookSecret: string;
  readonly timeoutMs?: number;
  /** Webhooks signed longer ago than this (wall ms) are refused as replays. */
  readonly maxSignatureAgeMs?: number;
}

export class HttpCarrierAdapter implements CarrierAdapter {
  readonly name: string;

  constructor(private readonly opts: HttpCarrierOptions) {
    this.name = opts.name;
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.opts.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.opts.apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 5000),
      });
    } catch (err) {
      throw new CarrierError(this.name, 'unreachable', `carrier ${this.name}: ${(err as Error).message}`, true);
    }
    const text = await res.text();
    const parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    if (!res.ok) throw new CarrierError(this.name, String(parsed.code ?? `http_${res.status}`), `carrier ${this.name}: ${String(parsed.message ?? res.status)}`, res.status >= 500);
    return parsed as T;
  }

  async quote(req: CarrierQuoteRequest): Promise<CarrierQuote> {
    const q = await this.call<Omit<CarrierQuote, 'carrier'>>('POST', '/v1/quotes', req);
    return { carrier: this.name, quoteId: q.quoteId, fee: q.fee, pickupEta: q.pickupEta, dropoffEta: q.dropoffEta, expiresAt: q.expiresAt };
  }

  private delivery(d: { id: string; externalId: string; status: CarrierStatus; fee: CarrierDelivery['fee']; pickupEta: number; dropoffEta: number }): CarrierDelivery {
    return { carrier: this.name, deliveryId: d.id, externalId: d.externalId, status: d.status, fee: d.fee, pickupEta: d.pickupEta, dropoffEta: d.dropoffEta };
  }

  async createDelivery(req: CarrierDeliveryRequest): Promise<CarrierDelivery> {
    return this.delivery(await this.call('POST', '/v1/deliveries', req));
  }

  async cancel(deliveryId: string): Promise<CarrierDelivery> {
    return this.delivery(await this.call('POST', `/v1/deliveries/${encodeURIComponent(deliveryId)}/cancel`, {}));
  }

  async get(deliveryId: string): Promise<CarrierDelivery> {
    return this.delivery(await this.call('GET', `/v1/deliveries/${encodeURIComponent(deliveryId)}`));
  }

  parseWebhook(headers: Readonly<Record<string, string | string[] | undefined>>, rawBody: string, nowWallMs: number): CarrierUpdate {
    const header = headers[CARRIER_SIGNATURE_HEADER];
    const sig = Array.isArray(header) ? header[0] : header;
    const t = Number(/^t=(\d+),/.exec(sig ?? '')?.[1]);
    const fresh = Number.isFinite(t) && Math.abs(nowWallMs - t) <= (this.opts.maxSignatureAgeMs ?? 300_000);
    if (!sig || !fresh || !verifySignature(this.opts.webhookSecret, sig, rawBody)) {
      throw new CarrierError(this.name, 'bad_signature', `webhook of carrier ${this.name} is not signed by it (or too old)`, false);
    }
    const e = JSON.parse(rawBody) as Record<string, unknown> & { courier?: { id: string; lat: number; lng: number } };
    const base = { eventId: String(e.eventId), deliveryId: String(e.deliveryId), externalId: String(e.externalId), at: Number(e.at) };
    if (e.type === 'delivery.location' && e.courier) {
      return { kind: 'location', ...base, courierId: e.courier.id, lat: e.courier.lat, lng: e.courier.lng, eta: Number(e.eta) };
    }
    if (e.type === 'delivery.status' && CARRIER_STATUSES.includes(e.status as CarrierStatus)) {
      return { kind: 'status', ...base, status: e.status as CarrierStatus, ...(typeof e.reason === 'string' ? { reason: e.reason } : {}) };
    }
    throw new CarrierError(this.name, 'bad_webhook', `webhook of carrier ${this.name} has an unknown type ${JSON.stringify(e.type)}`, false);
  }
}
