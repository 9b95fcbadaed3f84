/**
 * The courier app's side of `/v1/courier`: positions with resend, offers, status reports, shift.
 *
 * - `sendLocation(p)` numbers the point (seq) and keeps it until an ack covers it (accepted or
 *   rejected); after a reconnect, or a `store_unavailable` error, every unacked point is sent again
 *   in one `locs` frame. While offline, points wait in the buffer (oldest dropped past `maxBuffered`).
 * - `offer` (current one in `offer`, cleared when accepted, rejected, expired or withdrawn),
 *   `accept(offerId)` / `reject(offerId, reason)` resolve with the answer frame or reject with the
 *   error frame's code; `task` holds the latest task frame (sent on every connect and change).
 */
import type { components, CourierClientFrame, CourierServerFrame } from './generated/frames.js';
import { FrameSocket, toWsUrl, type SocketOptions } from './socket.js';

type S = components['schemas'];
export type CourierOffer = S['CourierOutOffer'];
export type CourierTask = S['CourierOutTask'];
export type StatusReport = Omit<S['CourierInStatus'], 'type'>;
export type LocationPoint = Omit<S['CourierInLoc'], 'type' | 'seq' | 'ts'> & { ts?: number };

export interface CourierSocketOptions extends SocketOptions {
  /** First seq number (default 0); seqs only grow within one CourierSocket. */
  startSeq?: number;
  /** Unacked points kept while offline; the oldest go first (default 10 000). */
  maxBuffered?: number;
}

/** An error frame the service answered with. */
export class FrameRefusedError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'FrameRefusedError';
  }
}

export class CourierSocket extends FrameSocket<CourierClientFrame, CourierServerFrame> {
  offer: CourierOffer | null = null;
  task: CourierTask | null = null;
  private seq: number;
  private readonly unacked: S['CourierInLoc'][] = [];
  private readonly maxBuffered: number;
  private resendTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(baseUrl: string, token: string, options: CourierSocketOptions = {}) {
    super(toWsUrl(baseUrl, '/v1/courier', token), options);
    this.seq = options.startSeq ?? 0;
    this.maxBuffered = options.maxBuffered ?? 10_000;
    this.onOpen(() => this.resendUnacked());
    this.on('ack', (ack) => this.acked(ack));
    this.on('error', (err) => {
      if (err.code === 'store_unavailable' && !this.resendTimer) {
        this.resendTimer = setTimeout(() => {
          this.resendTimer = null;
          this.resendUnacked();
        }, 1000);
      }
    });
    this.on('offer', (offer) => (this.offer = offer));
    for (const type of ['offer.accepted', 'offer.rejected', 'offer.expired', 'offer.withdrawn'] as const) {
      this.on(type, (f) => {
        if (this.offer?.offerId === f.offerId) this.offer = null;
      });
    }
    this.on('task', (task) => (this.task = task));
    // the ack comes before the new task frame: keep `task` current in between
    this.on('status.ack', (ack) => {
      if (!this.task) return;
      const orders = this.task.orders.map((o) => (o.id === ack.orderId ? { ...o, status: ack.status, version: ack.version } : o));
      this.task = { ...this.task, orders };
    });
  }

  /** Points not yet acknowledged (sent or waiting for the connection). */
  get pendingPoints(): number {
    return this.unacked.length;
  }

  /** Sends a position now, or as soon as the socket is back. Returns its seq. */
  sendLocation(point: LocationPoint): number {
    const frame: S['CourierInLoc'] = { type: 'loc', ...point, seq: this.seq++, ts: point.ts ?? Date.now() };
    this.unacked.push(frame);
    if (this.unacked.length > this.maxBuffered) this.unacked.splice(0, this.unacked.length - this.maxBuffered);
    this.send(frame);
    return frame.seq;
  }

  accept(offerId: string): Promise<S['CourierOutOfferAccepted']> {
    return this.request({ type: 'offer.accept', offerId }, 'offer.accepted', (f) => f.offerId === offerId);
  }

  reject(offerId: string, reason: string): Promise<S['CourierOutOfferRejected']> {
    return this.request({ type: 'offer.reject', offerId, reason }, 'offer.rejected', (f) => f.offerId === offerId);
  }

  /** arrived_pickup, picked_up, arrived_dropoff, delivered (with proof), returned, failed (with reason). */
  reportStatus(report: StatusReport): Promise<S['CourierOutStatusAck']> {
    return this.request({ type: 'status', ...report }, 'status.ack', (f) => f.orderId === report.orderId);
  }

  setShift(endsAt: number, capacity?: number): Promise<S['CourierOutShiftAck']> {
    return this.request({ type: 'shift', endsAt, ...(capacity === undefined ? {} : { capacity }) }, 'shift.ack', () => true);
  }

  override close(code?: number, reason?: string): void {
    if (this.resendTimer) clearTimeout(this.resendTimer);
    super.close(code, reason);
  }

  /**
   * Sends a frame and waits for its answer or an error frame. The courier socket answers frames in
   * order, so the first error after sending (with no answer before it) is this frame's.
   */
  private request<T extends CourierServerFrame['type']>(
    frame: CourierClientFrame,
    answer: T,
    match: (f: Extract<CourierServerFrame, { type: T }>) => boolean,
    timeoutMs = 15_000,
  ): Promise<Extract<CourierServerFrame, { type: T }>> {
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        offAnswer();
        offError();
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${answer} within ${timeoutMs} ms`));
      }, timeoutMs);
      const offAnswer = this.on(answer, (f) => {
        if (!match(f)) return;
        done();
        resolve(f);
      });
      const offError = this.on('error', (e) => {
        if (e.code === 'store_unavailable') return;
        done();
        reject(new FrameRefusedError(e.code, e.message));
      });
      if (!this.send(frame)) {
        done();
        reject(new Error('courier socket is not connected'));
      }
    });
  }

  private acked(ack: S['CourierOutAck']): void {
    const rejected = new Set(ack.rejected.map((r) => r.seq));
    const upTo = ack.seq ?? -Infinity;
    let maxRejected = -Infinity;
    for (const s of rejected) if (s !== null && s > maxRejected) maxRejected = s;
    const covered = Math.max(upTo, maxRejected);
    // an ack answers one frame: every point of it up to its highest seq is settled
    for (let i = this.unacked.length - 1; i >= 0; i--) {
      const p = this.unacked[i]!;
      if (p.seq <= covered || rejected.has(p.seq)) this.unacked.splice(i, 1);
    }
  }

  private resendUnacked(): void {
    if (this.unacked.length === 0) return;
    const points = this.unacked.map(({ type: _type, ...p }) => p);
    for (let i = 0; i < points.length; i += 5000) this.send({ type: 'locs', points: points.slice(i, i + 5000) });
  }
}
