/**
 * WebSocket /v1/track/:orderId?token=… (role customer with an `order` claim for this order; dispatcher
 * and admin may watch any order).
 *
 * out: `{type:'snapshot', orderId, status, version, promisedBy, pickup, dropoff, position|null, eta|null}` once, then
 *      `{type:'order.status', …}` on every change and `{type:'position', lat, lng, coarse, eta, status, at}`
 *      on every accepted courier point (coarsened to the H3 cell centre before pickup).
 * in:  nothing; a frame is answered `{type:'error', code: bad_json|bad_frame|unknown_type, message, ref?}` (push-only.ts).
 * Refused with close 1008: a token for another order (`forbidden`), an unknown or malformed order id
 * (`order_not_found`), or an order that
 * ended more than TRACKING_GRACE_MS ago (`tracking_expired`); an open socket is closed the same way
 * once that grace has passed. Updates come over Redis pub/sub, so any node can serve any order.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isTerminal, type Order } from '../../domain/order.js';
import { coarsen } from '../../runtime/courier-tasks.js';
import { channels } from '../../store/redis/pubsub.js';
import { TRACKING_CLAIM } from '../http/tracking.js';
import { WS_POLICY_VIOLATION } from '../auth.js';
import { pushOnlyAnswer } from './push-only.js';
import { keepAlive } from './store.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function tokenOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header === 'string') return /^Bearer\s+(\S+)/i.exec(header)?.[1];
  const q = request.query as { token?: unknown };
  return typeof q.token === 'string' ? q.token : undefined;
}

export async function trackSocket(app: FastifyInstance): Promise<void> {
  const { repo, bus } = app.orders;
  const graceMs = app.config.trackingGraceMs;

  app.get('/v1/track/:orderId', { websocket: true, config: { roles: ['customer', 'dispatcher', 'admin'] } }, (socket, request) => {
    const { orderId } = request.params as { orderId: string };
    const log = request.log.child({ orderId });
    const send = (frame: object) => {
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(frame));
    };
    const refuse = (reason: string) => socket.close(WS_POLICY_VIOLATION, reason);
    // order ids are UUIDs: anything else cannot be an order (and must not reach Postgres' uuid cast)
    if (!UUID.test(orderId)) return refuse('order_not_found');
    if (request.user.role === 'customer') {
      const token = tokenOf(request);
      const claims = token ? (app.jwt.decode(token) as Record<string, unknown> | null) : null;
      if (claims?.[TRACKING_CLAIM] !== orderId) return refuse('forbidden');
    }

    let unsubscribe: (() => Promise<void>) | null = null;
    let cancelClose: (() => void) | null = null;
    let closed = false;
    const closeAfterGrace = (endedAt: number) => {
      cancelClose?.();
      cancelClose = app.clock.setTimeout(() => refuse('tracking_expired'), Math.max(0, endedAt + graceMs - app.clock.now()));
    };
    socket.on('close', () => {
      closed = true;
      cancelClose?.();
      void unsubscribe?.().catch(() => undefined);
    });
    // the customer sends nothing: a frame gets an error frame naming why, and the socket stays open
    socket.on('message', (data, isBinary) => send(pushOnlyAnswer(data, isBinary, 'tracking')));
    keepAlive(app, socket);

    const start = async () => {
      // subscribe first so no change between the snapshot and the subscription is missed
      unsubscribe = await bus.subscribe(channels.track(orderId), (msg) => {
        send(msg as object);
        const m = msg as { type?: string; status?: Order['status']; at?: number };
        if (m.type === 'order.status' && m.status && isTerminal(m.status)) closeAfterGrace(m.at ?? app.clock.now());
      });
      if (closed) return void unsubscribe();
      const order = await repo.get(orderId);
      if (!order) return refuse('order_not_found');
      if (isTerminal(order.status)) {
        if (app.clock.now() > order.updatedAt + graceMs) return refuse('tracking_expired');
        closeAfterGrace(order.updatedAt);
      }
      send({ type: 'snapshot', ...(await snapshot(app, order)) });
    };
    start().catch((err: unknown) => {
      log.error({ err }, 'tracking socket failed to start');
      socket.close(1011, 'internal');
    });
  });
}

async function snapshot(app: FastifyInstance, order: Order) {
  const base = {
    orderId: order.id,
    status: order.status,
    version: order.version,
    promisedBy: order.promisedBy,
    // where the order comes from and goes to: the tracking page draws both
    pickup: { lat: order.pickup.lat, lng: order.pickup.lng },
    dropoff: { lat: order.dropoff.lat, lng: order.dropoff.lng },
  };
  const onTheWay = ['assigned', 'at_pickup', 'picked_up', 'at_dropoff'].includes(order.status);
  const beforePickup = order.status === 'assigned' || order.status === 'at_pickup';
  if (onTheWay && order.fleet !== 'own' && app.carrierDispatch) {
    // a carrier's courier: its latest position from the carrier's webhooks, with the ETA derived from them
    const pos = await app.carrierDispatch.latestPosition(order.id);
    if (!pos) return { ...base, position: null, eta: null };
    const p = beforePickup ? coarsen(pos) : pos;
    return { ...base, position: { lat: p.lat, lng: p.lng, coarse: beforePickup }, eta: pos.eta };
  }
  if (!order.courierId || !onTheWay) return { ...base, position: null, eta: null };
  const loc = await app.locationIndex.get(order.courierId);
  if (!loc) return { ...base, position: null, eta: null };
  const p = beforePickup ? coarsen(loc) : { lat: loc.lat, lng: loc.lng };
  const tasks = await app.orders.tasks.task(order.courierId, { lat: loc.lat, lng: loc.lng });
  const eta = tasks.stops.find((s) => s.kind === 'dropoff' && s.orderIds.includes(order.id))?.serviceAt ?? null;
  return { ...base, position: { lat: p.lat, lng: p.lng, coarse: beforePickup }, eta };
}

