/**
 * Zone admin API:
 *   PUT    /v1/zones/:id {geometry, settings}   admin              → 201 created / 200 replaced
 *   GET    /v1/zones                            admin, dispatcher  → {zones}
 *   GET    /v1/zones/:id                        admin, dispatcher  → the zone or 404 zone_not_found
 *   DELETE /v1/zones/:id                        admin              → 204 or 404 zone_not_found
 *   GET    /v1/zones/:id/travel                 admin, dispatcher  → calibrated travel factors per local hour
 * A geometry or setting that cannot be served answers 400 `invalid_zone` naming the field (ring not
 * closed, self-intersection with its position, too large …). Every change is announced to all nodes,
 * which rebuild their zone index (runtime/zones.ts).
 */
import type { FastifyInstance } from 'fastify';
import { zoneProblem, type ZoneGeometry, type ZoneSettings } from '../../domain/zones.js';
import type { StoredZone } from '../../store/pg/zone-repository.js';
import { AppError } from '../errors.js';
import { errorResponses } from './common-schemas.js';
import { actorOf, rejectInvalid } from './orders.js';
import { typeboxValidator } from './orders-schemas.js';
import { ZoneBodySchema, ZoneIdParams, ZoneListSchema, ZoneTravelSchema, ZoneViewSchema, type ZoneBody } from './zones-schemas.js';

/** The settings with every default filled in (what is stored and shown). */
export function zoneSettings(s: ZoneBody['settings']): ZoneSettings {
  return {
    name: s.name,
    active: s.active ?? true,
    priority: s.priority ?? 0,
    timezone: s.timezone ?? 'UTC',
    hours: s.hours ?? [],
    options: s.options,
    fee: s.fee,
    safetyMarginMin: s.safetyMarginMin ?? 0,
    fleet: s.fleet ?? 'own',
    carrier: s.carrier ?? null,
  };
}

const view = (z: StoredZone) => ({ id: z.id, geometry: z.geometry, settings: z.settings, version: z.version, updatedAt: z.updatedAt, updatedBy: z.updatedBy });

export async function zoneRoutes(app: FastifyInstance): Promise<void> {
  const { repo } = app.zones;
  const common = { attachValidation: true, validatorCompiler: typeboxValidator } as const;
  const readers = { roles: ['admin', 'dispatcher'] as const };

  app.put(
    '/v1/zones/:id',
    {
      ...common,
      config: { roles: ['admin'] },
      schema: {
        summary: 'Create or replace a delivery zone',
        tags: ['zones'],
        params: ZoneIdParams,
        body: ZoneBodySchema,
        response: {
          200: ZoneViewSchema,
          201: ZoneViewSchema,
          ...errorResponses({ 400: ['validation_failed', 'invalid_zone'], 401: [], 403: [], 429: [] }),
        },
      },
    },
    async (request, reply) => {
      rejectInvalid(request);
      const { id } = request.params as { id: string };
      const body = request.body as ZoneBody;
      const geometry = body.geometry as ZoneGeometry;
      const settings = zoneSettings(body.settings);
      const problem = zoneProblem(geometry, settings);
      if (problem) throw new AppError(400, 'invalid_zone', `${problem.field}: ${problem.message}`, { field: problem.field });
      const { zone, created } = await repo.put(id, geometry, settings, app.clock.now(), actorOf(request).id);
      await app.zones.changed(id);
      return reply.code(created ? 201 : 200).send(view(zone));
    },
  );

  app.get(
    '/v1/zones',
    {
      config: readers,
      schema: { summary: 'List delivery zones', tags: ['zones'], response: { 200: ZoneListSchema, ...errorResponses({ 401: [], 403: [] }) } },
    },
    async () => ({ zones: (await repo.list()).map(view) }),
  );

  app.get(
    '/v1/zones/:id',
    {
      ...common,
      config: readers,
      schema: {
        summary: 'One delivery zone',
        tags: ['zones'],
        params: ZoneIdParams,
        response: { 200: ZoneViewSchema, ...errorResponses({ 400: ['validation_failed'], 401: [], 403: [], 404: ['zone_not_found'] }) },
      },
    },
    async (request) => {
      rejectInvalid(request);
      const zone = await repo.get((request.params as { id: string }).id);
      if (!zone) throw new AppError(404, 'zone_not_found', 'zone not found');
      return view(zone);
    },
  );

  app.get(
    '/v1/zones/:id/travel',
    {
      ...common,
      config: readers,
      schema: {
        summary: 'Calibrated travel times of a zone: speed and detour factors per local hour, learned from courier trails',
        tags: ['zones'],
        params: ZoneIdParams,
        response: { 200: ZoneTravelSchema, ...errorResponses({ 400: ['validation_failed'], 401: [], 403: [], 404: ['zone_not_found'] }) },
      },
    },
    async (request) => {
      rejectInvalid(request);
      const { id } = request.params as { id: string };
      // stored zones, or the built-in default while none is stored
      if (!app.zones.index.zones.some((z) => z.id === id)) throw new AppError(404, 'zone_not_found', 'zone not found');
      const travel = app.travelTimes;
      const { priorStraightMps, priorDetour } = travel.current().opts;
      return { ...travel.zoneView(id), refreshedAt: travel.lastRefreshAt, prior: { straightMps: priorStraightMps, detour: priorDetour } };
    },
  );

  app.delete(
    '/v1/zones/:id',
    {
      ...common,
      config: { roles: ['admin'] },
      schema: {
        summary: 'Delete a delivery zone',
        tags: ['zones'],
        params: ZoneIdParams,
        response: { 204: { type: 'null', description: 'deleted' }, ...errorResponses({ 400: ['validation_failed'], 401: [], 403: [], 404: ['zone_not_found'], 429: [] }) },
      },
    },
    async (request, reply) => {
      rejectInvalid(request);
      const { id } = request.params as { id: string };
      if (!(await repo.delete(id))) throw new AppError(404, 'zone_not_found', 'zone not found');
      await app.zones.changed(id);
      return reply.code(204).send();
    },
  );
}
