/**
 * The order side of the courier socket (/v1/courier), added through the socket's extension points:
 *
 * in:  `{type:'offer.accept', offerId}` · `{type:'offer.reject', offerId, reason}` ·
 *      `{type:'status', orderId, status: arrived_pickup|picked_up|arrived_dropoff|delivered|returned|failed,
 *        proof?: {pin?, photoRef?}, reason? (failed: no_courier|store_cannot_fulfil|customer_unreachable|…), note?}`
 * out: `offer` (offer id, orders, ordered stops with ETAs, expiry) · `offer.accepted` · `offer.rejected` ·
 *      `offer.expired` · `offer.withdrawn` · `status.ack` · `task` (current work with stop ETAs, sent on
 *      every connect and after every change) · `task.changed` (someone else changed an order: cancel,
 *      return) · `error` frames with stable codes (the socket stays open).
 */
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';
import { courierFrameChecks, firstFrameError, toAppError } from '../http/orders-schemas.js';
import { FrameError, type CourierSocketContext } from './courier-frames.js';

function frameError(err: unknown): unknown {
  const mapped = toAppError(err);
  return mapped instanceof AppError ? new FrameError(mapped.code, mapped.message) : err;
}

function check<K extends keyof typeof courierFrameChecks>(type: K, frame: unknown) {
  const c = courierFrameChecks[type];
  if (!c.Check(frame)) {
    const { message } = firstFrameError(c.Errors(frame));
    throw new FrameError('bad_frame', `${type}: ${message}`);
  }
  return frame;
}

function registerCourierOrderFrames(app: FastifyInstance): void {
  const { offers, tasks } = app.orders;
  const sendTask = async (ctx: CourierSocketContext) => ctx.send(await tasks.task(ctx.courierId));

  app.courierFrames.register('offer.accept', async (ctx, raw) => {
    const frame = check('offer.accept', raw);
    try {
      const orders = await offers.accept(ctx.courierId, frame.offerId);
      ctx.send({ type: 'offer.accepted', offerId: frame.offerId, orderIds: orders.map((o) => o.id) });
    } catch (err) {
      throw frameError(err);
    }
    await tasks.refresh(ctx.courierId);
    await sendTask(ctx);
  });

  app.courierFrames.register('offer.reject', async (ctx, raw) => {
    const frame = check('offer.reject', raw);
    try {
      await offers.reject(ctx.courierId, frame.offerId, frame.reason);
    } catch (err) {
      throw frameError(err);
    }
    ctx.send({ type: 'offer.rejected', offerId: frame.offerId });
  });

  app.courierFrames.register('status', async (ctx, raw) => {
    const frame = check('status', raw);
    let order;
    try {
      if (frame.status === 'failed' && !frame.reason) throw new FrameError('bad_frame', 'status: a failure needs a reason');
      const failure = frame.reason ? { reason: frame.reason, ...(frame.note ? { note: frame.note } : {}) } : undefined;
      order = await tasks.status(ctx.courierId, frame.orderId, frame.status, frame.proof, failure);
    } catch (err) {
      throw frameError(err);
    }
    ctx.send({ type: 'status.ack', orderId: order.id, status: order.status, version: order.version });
    await sendTask(ctx);
  });

  // Every connect (first or reconnect, any node): follow the courier's channel, then re-send its
  // current task and any open offer so an app that lost its state picks up where it was.
  app.courierConnections.onConnect(async (ctx) => {
    ctx.send(await tasks.attach(ctx.courierId, (frame) => app.courierConnections.send(ctx.courierId, frame)));
    const offer = await offers.openFor(ctx.courierId);
    if (offer) ctx.send(offer);
  });
  app.courierConnections.onDisconnect((ctx) => tasks.detach(ctx.courierId));

  app.locationIngest.onChange((updates) => {
    for (const u of updates) {
      if (!u.current) continue;
      const { lat, lng, ts } = u.current;
      const { acc } = u.current;
      tasks
        .onPosition(u.courierId, acc === undefined ? { lat, lng, ts } : { lat, lng, ts, acc })
        ?.catch((err: unknown) => app.log.error({ err, courierId: u.courierId }, 'order updates for a courier point failed'));
    }
  });
}

/** Registered after the courier socket and the order services (both named as dependencies). */
export const courierOrderFrames = fp(async (app: FastifyInstance) => registerCourierOrderFrames(app), {
  name: 'dispatchd-courier-orders',
  fastify: '5.x',
  dependencies: ['dispatchd-courier-socket', 'dispatchd-orders'],
});
