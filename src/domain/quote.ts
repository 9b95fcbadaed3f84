/**
 * A quote: what a store was offered for one delivery (fee and promise per option), valid until
 * `expiresAt`. An order placed with the quote's id keeps the quoted fee and promise, provided it asks
 * for the same delivery: `quoteMismatch` names the first field that differs. Pure.
 */
import type { Unavailable } from './delivery-promise.js';
import type { Money } from './fees.js';
import type { DeliveryOption, OrderInput, TimeWindow } from './order.js';

export interface QuotedOption {
  readonly option: DeliveryOption;
  readonly fee: Money;
  readonly promisedBy: number;
  /** Scheduled: the window the promise is for. */
  readonly window?: TimeWindow;
  readonly fleet: 'own';
}

export interface UnavailableOption {
  readonly option: DeliveryOption;
  readonly window?: TimeWindow;
  readonly reason: Unavailable;
}

export interface Quote {
  readonly quoteId: string;
  readonly storeId: string;
  readonly zoneId: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly pickup: { readonly lat: number; readonly lng: number };
  readonly dropoff: { readonly lat: number; readonly lng: number };
  readonly items: number;
  readonly size: number;
  readonly distanceM: number;
  readonly options: readonly QuotedOption[];
  readonly unavailable: readonly UnavailableOption[];
}

const sameWindow = (a: TimeWindow | undefined | null, b: TimeWindow | undefined | null) =>
  (!a && !b) || (!!a && !!b && a.from === b.from && a.to === b.to);

/** The quoted option the order asks for, or the first field that does not match the quote. */
export function matchQuote(quote: Quote, input: OrderInput): { quoted: QuotedOption } | { field: string } {
  if (input.pickup.lat !== quote.pickup.lat || input.pickup.lng !== quote.pickup.lng) return { field: 'pickup' };
  if (input.dropoff.lat !== quote.dropoff.lat || input.dropoff.lng !== quote.dropoff.lng) return { field: 'dropoff' };
  if (input.items !== quote.items) return { field: 'items' };
  if ((input.size ?? 1) !== quote.size) return { field: 'size' };
  const sameOption = quote.options.filter((o) => o.option === input.option);
  if (sameOption.length === 0) return { field: 'option' };
  const quoted = sameOption.find((o) => sameWindow(o.window, input.window));
  return quoted ? { quoted } : { field: 'window' };
}

export type QuoteErrorCode = 'quote_not_found' | 'quote_expired' | 'quote_mismatch';

export class QuoteError extends Error {
  constructor(
    readonly code: QuoteErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'QuoteError';
  }
}

/** The quoted terms for an order, or the QuoteError saying why the quote cannot be used. */
export function quotedTerms(quote: Quote | null, storeId: string, input: OrderInput, now: number): QuotedOption {
  // another store's quote looks absent, as foreign orders do
  if (!quote || quote.storeId !== storeId) throw new QuoteError('quote_not_found', 'quote not found', { quoteId: input.quoteId });
  if (now >= quote.expiresAt) throw new QuoteError('quote_expired', 'the quote has expired: ask for a new one', { quoteId: quote.quoteId, expiresAt: quote.expiresAt });
  const match = matchQuote(quote, input);
  if ('field' in match) throw new QuoteError('quote_mismatch', `${match.field} differs from the quote`, { quoteId: quote.quoteId, field: match.field });
  return match.quoted;
}
