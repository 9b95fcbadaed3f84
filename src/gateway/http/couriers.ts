/**
 * Courier location reads:
 * - GET /v1/couriers/nearby?lat=&lng=&radius_m=&limit=  (dispatcher, admin) nearest first, stale excluded
 * - GET /v1/couriers/:id                                 current state: position, `status` (offline|paused|free|busy),
 *                                                        load, shift end, last seen, planned stops with ETAs (dispatcher, admin, or the courier)
 * - GET /v1/couriers/:id/trail?from=&to=                 history as a GeoJSON LineString with timestamps
 * Bad query parameters get 400 with a specific code (invalid_lat, invalid_radius, invalid_time_range, …).
 */
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { AppError } from '../errors.js';
import { errorResponses } from './common-schemas.js';
import { CourierStateSchema, NearbyCouriersSchema, TrailSchema } from './response-schemas.js';
import { readTrail } from '../../store/pg/position-reader.js';
import { CourierAvailabilityStore } from '../../store/redis/courier-availability.js';
import { courierStatus } from '../../domain/courier-status.js';
import { etaThroughStops } from '../../domain/eta.js';
import { remainingStops } from '../../runtime/courier-tasks.js';
import { snapshotWiring } from '../../runtime/dispatch-loop.js';

export const MAX_RADIUS_M = 20_000;
export const MAX_NEARBY_LIMIT = 500;
export const MAX_TRAIL_RANGE_MS = 24 * 3_600_000;
const DEFAULT_TRAIL_MS = 3_600_000;

type Query = Record<string, string | string[] | undefined>;

function param(query: Query, name: string): string | undefined {
  const v = query[name];
  if (Array.isArray(v)) throw new AppError(400, `invalid_${name}`, `${name} must be given once`);
  return v === undefined || v === '' ? undefined : v;
}

function numberParam(query: Query, name: string, code: string, opts: { min: number; max: number; integer?: boolean; def?: number }): number {
  const raw = param(query, name);
  if (raw === undefined) {
    if (opts.def !== undefined) return opts.def;
    throw new AppError(400, code, `${name} is required`);
  }
  const n = Number(raw);
  if (!Number.isFinite(n) || (opts.integer && !Number.isInteger(n)) || n < opts.min || n > opts.max) {
    throw new AppError(400, code, `${name} must be ${opts.integer ? 'an integer' : 'a number'} between ${opts.min} and ${opts.max}, got ${JSON.stringify(raw).slice(0, 40)}`);
  }
  return n;
}

/** Accepts epoch milliseconds or an ISO 8601 date-time. */
function timeParam(query: Query, name: string): number | undefined {
  const raw = param(query, name);
  if (raw === undefined) return undefined;
  const ms = /^-?\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
  if (!Number.isFinite(ms)) throw new AppError(400, 'invalid_time_range', `${name} must be epoch ms or an ISO 8601 time`);
  return ms;
}

function mayReadCourier(request: FastifyRequest, courierId: string): void {
  const { role, sub } = request.user;
  if (role === 'dispatcher' || role === 'admin' || (role === 'courier' && sub === courierId)) return;
  throw new AppError(403, 'forbidden', `Role ${role} may not read courier ${courierId}`);
}

const AUTH = { 401: ['unauthorized'], 403: ['forbidden'] } as const;
const IdParams = Type.Object({ id: Type.String() });
// Queries are parsed by the handlers (each bad parameter has its own code), so these describe, not validate.
const NearbyQuery = Type.Object({
  lat: Type.Number({ minimum: -90, maximum: 90 }),
  lng: Type.Number({ minimum: -180, maximum: 180 }),
  radius_m: Type.Optional(Type.Number({ minimum: 1, maximum: MAX_RADIUS_M, default: 2000 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_NEARBY_LIMIT, default: 20 })),
});
const TrailQuery = Type.Object({
  from: Type.Optional(Type.String({ description: 'epoch ms or ISO 8601; default `to` minus one hour' })),
  to: Type.Optional(Type.String({ description: 'epoch ms or ISO 8601; default now' })),
});
/** Describe-only schemas: the document shows them, the handler's own checks answer bad input. */
const describeOnly = { validatorCompiler: () => (data: unknown) => ({ value: data }) } as const;

export const courierRoutes = fp(
  async function courierRoutes(app: FastifyInstance) {
    const availability = new CourierAvailabilityStore(app.redis);
    app.get(
      '/v1/couriers/nearby',
      {
        ...describeOnly,
        schema: {
          summary: 'Couriers near a point, nearest first (stale ones excluded)',
          tags: ['couriers'],
          querystring: NearbyQuery,
          response: { 200: NearbyCouriersSchema, ...errorResponses({ ...AUTH, 400: ['invalid_lat', 'invalid_lng', 'invalid_radius', 'invalid_limit'] }) },
        },
        config: { roles: ['dispatcher', 'admin'] },
      },
      async (request) => {
      const q = request.query as Query;
      const lat = numberParam(q, 'lat', 'invalid_lat', { min: -90, max: 90 });
      const lng = numberParam(q, 'lng', 'invalid_lng', { min: -180, max: 180 });
      const radiusM = numberParam(q, 'radius_m', 'invalid_radius', { min: 1, max: MAX_RADIUS_M, def: 2000 });
      const limit = numberParam(q, 'limit', 'invalid_limit', { min: 1, max: MAX_NEARBY_LIMIT, integer: true, def: 20 });
      const couriers = await app.locationIndex.nearby({
        lat,
        lng,
        radiusM,
        limit,
        now: app.clock.now(),
        staleAfterMs: app.config.staleAfterMs,
      });
      const ids = couriers.map((c) => c.courierId);
      const [paused, offered, active] = await Promise.all([
        availability.pausedAmong(ids),
        app.orders.repo.couriersWithOpenOffer(ids),
        app.orders.repo.activeForCouriers(ids),
      ]);
      return {
        couriers: couriers.map((c) => ({
          courierId: c.courierId,
          lat: c.lat,
          lng: c.lng,
          distanceM: Math.round(c.distanceM * 10) / 10,
          ts: c.ts,
          serverTs: c.serverTs,
          // nearby lists fresh couriers only: never offline
          status: courierStatus({ stale: false, paused: paused.has(c.courierId), hasOpenOffer: offered.has(c.courierId), load: active.get(c.courierId)?.length ?? 0 }),
        })),
      };
      },
    );

    app.get(
      '/v1/couriers/:id',
      {
        ...describeOnly,
        schema: {
          summary: "A courier's current position and state",
          description: 'Dispatchers, admins, or the courier itself.',
          tags: ['couriers'],
          params: IdParams,
          response: { 200: CourierStateSchema, ...errorResponses({ ...AUTH, 404: ['courier_not_found'] }) },
        },
      },
      async (request) => {
      const { id } = request.params as { id: string };
      mayReadCourier(request, id);
      const { repo } = app.orders;
      const [loc, paused, shifts, active, offered] = await Promise.all([
        app.locationIndex.get(id),
        availability.isPaused(id),
        availability.shifts([id]),
        repo.activeForCourier(id),
        repo.couriersWithOpenOffer([id]),
      ]);
      if (!loc) throw new AppError(404, 'courier_not_found', `No position known for courier ${id}`);
      const now = app.clock.now();
      const stale = now - loc.serverTs > app.config.staleAfterMs;
      // the planned route: what the optimizer assumes the courier does next (dispatch-snapshot.ts)
      const { travel, service } = snapshotWiring(app).options;
      const etas = etaThroughStops(now, { lat: loc.lat, lng: loc.lng }, remainingStops(active, now), travel, service);
      return {
        courierId: loc.courierId,
        lat: loc.lat,
        lng: loc.lng,
        ts: loc.ts,
        serverTs: loc.serverTs,
        lastSeenAt: loc.serverTs,
        cell: loc.cell,
        status: courierStatus({ stale, paused, hasOpenOffer: offered.has(id), load: active.length }),
        seq: loc.seq,
        stale,
        paused,
        load: active.length,
        shiftEndsAt: shifts.get(id)?.endsAt ?? null,
        stops: etas.flatMap((s) => s.orderIds.map((orderId) => ({ orderId, kind: s.kind, lat: s.place.lat, lng: s.place.lng, eta: Math.round(s.serviceAt) }))),
      };
      },
    );

    app.get(
      '/v1/couriers/:id/trail',
      {
        ...describeOnly,
        schema: {
          summary: "A courier's position history as a GeoJSON LineString",
          description: 'At most 24 hours; `properties.timestamps` and `seqs` run parallel to the coordinates.',
          tags: ['couriers'],
          params: IdParams,
          querystring: TrailQuery,
          response: { 200: TrailSchema, ...errorResponses({ ...AUTH, 400: ['invalid_time_range', 'invalid_from', 'invalid_to'] }) },
        },
      },
      async (request) => {
      const { id } = request.params as { id: string };
      mayReadCourier(request, id);
      const q = request.query as Query;
      const to = timeParam(q, 'to') ?? app.clock.now();
      const from = timeParam(q, 'from') ?? to - DEFAULT_TRAIL_MS;
      if (from >= to) throw new AppError(400, 'invalid_time_range', 'from must be before to');
      if (to - from > MAX_TRAIL_RANGE_MS) {
        throw new AppError(400, 'invalid_time_range', `The range may span at most ${MAX_TRAIL_RANGE_MS / 3_600_000} hours`);
      }
      const points = await readTrail(app.db, id, from, to);
      return {
        type: 'Feature',
        geometry: { type: 'LineString', coordinates: points.map((p) => [p.lng, p.lat]) },
        properties: {
          courierId: id,
          from: new Date(from).toISOString(),
          to: new Date(to).toISOString(),
          // Parallel to the coordinates: device time (epoch ms) and seq of each position.
          timestamps: points.map((p) => p.ts),
          seqs: points.map((p) => p.seq),
        },
      };
      },
    );
  },
  { name: 'dispatchd-courier-routes', fastify: '5.x', dependencies: ['dispatchd-core', 'dispatchd-auth', 'dispatchd-courier-socket'] },
);
