/**
 * WebSocket /v1/store (role store; the JWT subject is the store id).
 *
 * in:  `{type:'order.placed', ref?, order:{…same body as POST /v1/orders}}`
 *      `{type:'order.ready', ref?, orderId | externalId, readyAt?}`
 *      `{type:'order.cancelled', ref?, orderId | externalId, reason?}`
 * out: `{type:'ack', ref, frame, orderId, externalId, status, version, promisedBy, created?}` per frame, in order;
 *      `{type:'error', ref, code, message, field?}` for a bad frame (the socket stays open; a frame that is not
 *      a JSON object gets `bad_frame`);
 *      `{type:'order.status', orderId, externalId, status, version, event, at, courierId, reason}` for every
 *      change of any of the store's orders, from whichever node made it;
 *      `{type:'order.position', orderId, externalId, fleet, status, lat, lng, coarse, eta, at}` for each position
 *      of a carrier courier delivering one of them (hybrid fleet, runtime/carrier-dispatch.ts).
 * `ref` is the client's own correlation id, echoed back.
 */
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import type { Actor, Order } from '../../domain/order.js';
import { ownedBy } from '../../runtime/order-lifecycle.js';
import { channels } from '../../store/redis/pubsub.js';
import { AppError } from '../errors.js';
import { unavailableDependency } from '../dependency-errors.js';
import { firstFrameError, storeFrameChecks, toAppError, type OrderBody } from '../http/orders-schemas.js';
import { orderInput } from '../http/orders.js';

type StoreFrameType = keyof typeof storeFrameChecks;

/**
 * Pings every WS_PING_INTERVAL_MS and closes a socket that answered nothing for WS_IDLE_TIMEOUT_MS
 * (transport timeouts in wall-clock time), so dead store and tracking connections do not pile up.
 */
export function keepAlive(app: FastifyInstance, socket: WebSocket): void {
  let lastSeen = Date.now();
  const seen = () => {
    lastSeen = Date.now();
  };
  socket.on('pong', seen);
  socket.on('message', seen);
  const timer = setInterval(() => {
    if (Date.now() - lastSeen > app.config.wsIdleTimeoutMs) {
      socket.terminate();
    } else if (socket.readyState === socket.OPEN) {
      socket.ping();
    }
  }, Math.min(app.config.wsPingIntervalMs, Math.max(50, Math.floor(app.config.wsIdleTimeoutMs / 2))));
  timer.unref();
  socket.on('close', () => clearInterval(timer));
}

export async function storeSocket(app: FastifyInstance): Promise<void> {
  const { lifecycle, offers, repo, bus } = app.orders;

  app.get('/v1/store', { websocket: true, config: { roles: ['store'] } }, (socket, request) => {
    const storeId = request.user.sub;
    const actor: Actor = { role: 'store', id: storeId };
    const log = request.log.child({ storeId });
    const send = (frame: object) => {
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(frame));
    };
    const fail = (ref: string | undefined, code: string, message: string, field?: string) =>
      send({ type: 'error', ref: ref ?? null, code, message, ...(field ? { field } : {}) });

    const resolveId = async (frame: { orderId?: string; externalId?: string }): Promise<string> => {
      if (frame.orderId) return frame.orderId;
      if (frame.externalId) {
        const found = await repo.findByExternalId(storeId, frame.externalId);
        if (found) return found.order.id;
      } else {
        throw new AppError(400, 'validation_failed', 'orderId or externalId is required', { field: 'orderId' });
      }
      throw new AppError(404, 'order_not_found', 'order not found');
    };

    const ack = (ref: string | undefined, frame: StoreFrameType, order: Order, created?: boolean) =>
      send({
        type: 'ack',
        ref: ref ?? null,
        frame,
        orderId: order.id,
        externalId: order.externalId,
        status: order.status,
        version: order.version,
        promisedBy: order.promisedBy,
        ...(created === undefined ? {} : { created }),
      });

    const handle = async (text: string): Promise<void> => {
      let frame: unknown;
      try {
        frame = JSON.parse(text);
      } catch {
        return fail(undefined, 'bad_json', 'frame is not valid JSON');
      }
      // `null`, numbers, strings and arrays are valid JSON but not frames
      if (frame === null || typeof frame !== 'object' || Array.isArray(frame)) {
        return fail(undefined, 'bad_frame', 'frame must be a JSON object');
      }
      const type = (frame as { type?: unknown }).type;
      const ref = typeof (frame as { ref?: unknown }).ref === 'string' ? ((frame as { ref: string }).ref) : undefined;
      // own keys only: `type: "toString"` must not find Object.prototype's (found by the property tests)
      if (typeof type !== 'string' || !Object.hasOwn(storeFrameChecks, type)) {
        return fail(ref, 'unknown_type', `unknown frame type ${JSON.stringify(type ?? null).slice(0, 64)}`);
      }
      const check = storeFrameChecks[type as StoreFrameType];
      if (!check.Check(frame)) {
        const { field, message } = firstFrameError(check.Errors(frame));
        return fail(ref, 'validation_failed', message, field);
      }
      try {
        if (type === 'order.placed') {
          const body = (frame as { order: OrderBody }).order;
          const { order, created } = await lifecycle.place(storeId, orderInput(body), actor);
          return ack(ref, type, order, created);
        }
        const f = frame as { orderId?: string; externalId?: string; readyAt?: number; reason?: string };
        const id = await resolveId(f);
        if (type === 'order.ready') {
          const { order } = await lifecycle.apply(id, { type: 'ready', ...(f.readyAt === undefined ? {} : { readyAt: f.readyAt }) }, actor, ownedBy(actor));
          return ack(ref, type, order);
        }
        const { order } = await offers.cancel(id, actor, f.reason, ownedBy(actor));
        return ack(ref, type as StoreFrameType, order);
      } catch (err) {
        const mapped = toAppError(err);
        if (mapped instanceof AppError) {
          const field = (mapped.details as { field?: string } | undefined)?.field;
          return fail(ref, mapped.code === 'not_your_order' ? 'order_not_found' : mapped.code, mapped.message, field);
        }
        const dependency = unavailableDependency(err);
        if (dependency) {
          log.warn({ err, dependency }, 'store frame met an unavailable dependency');
          return fail(ref, 'dependency_unavailable', `${dependency} is unavailable; send the frame again later`);
        }
        log.error({ err }, 'store frame failed');
        return fail(ref, 'internal', 'frame could not be processed');
      }
    };

    // Frames are handled one after another, so acks come back in the order frames were sent.
    let queue: Promise<void> = Promise.resolve();
    socket.on('message', (data: Buffer) => {
      const text = data.toString('utf8');
      // a failing frame must not stall the ones behind it
      queue = queue.then(() => handle(text)).catch((err: unknown) => log.error({ err }, 'store frame failed'));
    });
    keepAlive(app, socket);
    const subscribed = bus.subscribe(channels.store(storeId), (msg) => send(msg as object));
    socket.on('close', () => {
      subscribed.then((unsubscribe) => unsubscribe()).catch(() => undefined);
    });
    subscribed.catch((err: unknown) => {
      log.error({ err }, 'store updates unavailable');
      socket.close(1011, 'updates unavailable');
    });
  });
}

