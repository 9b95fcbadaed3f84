/**
 * A customer's view of one order over `/v1/track/{orderId}`: a `snapshot` on connect, then
 * `order.status` and `position` frames. Open it with the `url` of POST /v1/orders/{id}/tracking-link
 * (`TrackingSocket.fromLink(link.url)`), or with a base URL, the order id and a token. The service
 * closes it with 1008 once tracking ended (`tracking_expired`); it does not reconnect then.
 */
import type { components, TrackServerFrame } from './generated/frames.js';
import { FrameSocket, toWsUrl, type SocketOptions } from './socket.js';

type S = components['schemas'];
export type TrackingSnapshot = S['TrackOutSnapshot'];
export type TrackingPosition = S['TrackOutPosition'];

export class TrackingSocket extends FrameSocket<never, TrackServerFrame> {
  /** The latest known state, merged from snapshot, status and position frames. */
  state: { status: TrackingSnapshot['status'] | null; position: { lat: number; lng: number; coarse: boolean } | null; eta: number | null } = {
    status: null,
    position: null,
    eta: null,
  };

  constructor(baseUrl: string, orderId: string, token: string, options?: SocketOptions);
  constructor(url: string, options?: SocketOptions);
  constructor(a: string, b?: string | SocketOptions, token?: string, options: SocketOptions = {}) {
    super(typeof b === 'string' ? toWsUrl(a, `/v1/track/${encodeURIComponent(b)}`, token ?? '') : a, typeof b === 'string' ? options : (b ?? {}));
    this.on('snapshot', (s) => (this.state = { status: s.status, position: s.position, eta: s.eta }));
    this.on('order.status', (s) => (this.state = { ...this.state, status: s.status }));
    this.on('position', (p) => (this.state = { status: p.status, position: { lat: p.lat, lng: p.lng, coarse: p.coarse }, eta: p.eta }));
  }

  /**
   * From the `url` of a tracking link (it carries the token). The service returns a path when it has
   * no TRACKING_BASE_URL: give `baseUrl` (the service's http(s) URL) to resolve it.
   */
  static fromLink(url: string, baseUrl?: string, options: SocketOptions = {}): TrackingSocket {
    const absolute = /^wss?:|^https?:/.test(url) ? url.replace(/^http/, 'ws') : new URL(url, (baseUrl ?? '').replace(/^http/, 'ws')).toString();
    return new TrackingSocket(absolute, options);
  }
}
