/**
 * A store system's side of `/v1/store`: place, ready and cancel orders over one socket and hear every
 * change of the store's orders (`order.status`). Each request carries a `ref`; its promise resolves
 * with the ack or rejects with the error frame naming it. Requests made while the socket is down, or
 * unanswered when it dropped, are sent again on reconnect (placing is idempotent on externalId).
 */
import type { components, StoreClientFrame, StoreServerFrame } from './generated/frames.js';
import { FrameRefusedError } from './courier-socket.js';
import { FrameSocket, toWsUrl, type SocketOptions } from './socket.js';

type S = components['schemas'];
export type StoreAck = S['StoreOutAck'];
export type OrderStatusFrame = S['StoreOutOrderStatus'];
export type PlaceOrder = S['StoreInOrderPlaced']['order'];
/** An order by its id or by the store's own externalId. */
export type OrderKey = { orderId: string } | { externalId: string };

interface Pending {
  frame: StoreClientFrame & { ref: string };
  resolve: (ack: StoreAck) => void;
  reject: (err: Error) => void;
}

export class StoreSocket extends FrameSocket<StoreClientFrame, StoreServerFrame> {
  private nextRef = 1;
  private readonly pending = new Map<string, Pending>();

  constructor(baseUrl: string, token: string, options: SocketOptions = {}) {
    super(toWsUrl(baseUrl, '/v1/store', token), options);
    this.on('ack', (ack) => this.settle(ack.ref, (p) => p.resolve(ack)));
    this.on('error', (err) => this.settle(err.ref, (p) => p.reject(new FrameRefusedError(err.code, err.message))));
    this.onOpen(() => {
      for (const p of this.pending.values()) super.send(p.frame);
    });
  }

  place(order: PlaceOrder): Promise<StoreAck> {
    return this.request({ type: 'order.placed', order });
  }

  ready(key: OrderKey, readyAt?: number): Promise<StoreAck> {
    return this.request({ type: 'order.ready', ...key, ...(readyAt === undefined ? {} : { readyAt }) });
  }

  cancel(key: OrderKey, reason?: string): Promise<StoreAck> {
    return this.request({ type: 'order.cancelled', ...key, ...(reason === undefined ? {} : { reason }) });
  }

  /** Every change of any of the store's orders. */
  onStatus(listener: (frame: OrderStatusFrame) => void): () => void {
    return this.on('order.status', listener);
  }

  override close(code?: number, reason?: string): void {
    super.close(code, reason);
    for (const p of this.pending.values()) p.reject(new Error('store socket closed'));
    this.pending.clear();
  }

  private request(frame: StoreClientFrame): Promise<StoreAck> {
    const ref = `r${this.nextRef++}`;
    const withRef = { ...frame, ref } as StoreClientFrame & { ref: string };
    return new Promise((resolve, reject) => {
      this.pending.set(ref, { frame: withRef, resolve, reject });
      super.send(withRef);
    });
  }

  private settle(ref: string | null, fn: (p: Pending) => void): void {
    const p = ref === null ? undefined : this.pending.get(ref);
    if (!p) return;
    this.pending.delete(ref!);
    fn(p);
  }
}
