/**
 * Tracking page links for the first orders of a live run (the demo prints them): waits until `count`
 * orders exist, then asks each order's store for a tracking link, as a store would for its customer
 * (POST /v1/orders/:id/tracking-link). The page URL is built on `baseUrl`, the address this run serves.
 */
export interface TrackingLink {
  readonly orderId: string;
  readonly externalId: string;
  readonly pageUrl: string;
}

export interface TrackingLinkOptions {
  readonly baseUrl: string;
  /** A token that may list orders (dispatcher or admin). */
  readonly listToken: string;
  /** A token of the store `storeId`. */
  readonly storeToken: (storeId: string) => string;
  readonly count: number;
  readonly signal: AbortSignal;
  /** Wall ms between two looks at the order list. */
  readonly pollMs?: number;
}

interface ListedOrder {
  readonly id: string;
  readonly externalId: string;
  readonly storeId: string;
  readonly placedAt: number;
}

export async function firstTrackingLinks(opts: TrackingLinkOptions): Promise<TrackingLink[]> {
  const auth = (token: string) => ({ authorization: `Bearer ${token}` });
  let orders: ListedOrder[] = [];
  while (!opts.signal.aborted) {
    const res = await fetch(`${opts.baseUrl}/v1/orders?limit=100`, { headers: auth(opts.listToken), signal: opts.signal });
    if (res.ok) orders = ((await res.json()) as { orders: ListedOrder[] }).orders;
    if (orders.length >= opts.count) break;
    await new Promise((resolve) => setTimeout(resolve, opts.pollMs ?? 1000));
  }
  const first = [...orders].sort((a, b) => a.placedAt - b.placedAt || (a.id < b.id ? -1 : 1)).slice(0, opts.count);
  const links: TrackingLink[] = [];
  for (const o of first) {
    const res = await fetch(`${opts.baseUrl}/v1/orders/${o.id}/tracking-link`, { method: 'POST', headers: auth(opts.storeToken(o.storeId)), signal: opts.signal });
    if (!res.ok) continue;
    const { token } = (await res.json()) as { token: string };
    links.push({ orderId: o.id, externalId: o.externalId, pageUrl: `${opts.baseUrl}/track/${encodeURIComponent(token)}` });
  }
  return links;
}
