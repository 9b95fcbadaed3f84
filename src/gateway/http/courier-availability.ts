/**
 * Pause and resume a courier (dispatcher, admin):
 *   POST /v1/couriers/:id/pause   body {reason?}  → 200 {courierId, paused: true}
 *   POST /v1/couriers/:id/resume                  → 200 {courierId, paused: false}
 * 404 `courier_not_found` for a courier never seen. A paused courier gets no new offers (work it
 * already has stays with it).
 */
import fp from 'fastify-plugin';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';
import { typeboxValidator } from './orders-schemas.js';
import { rejectInvalid } from './orders.js';
import { errorResponses } from './common-schemas.js';
import { PausedSchema } from './response-schemas.js';

const CourierIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) });
const PauseBody = Type.Union([
  Type.Object({ reason: Type.Optional(Type.String({ maxLength: 500 })) }, { additionalProperties: false }),
  Type.Null(),
]);

export const courierAvailabilityRoutes = fp(
  async function courierAvailabilityRoutes(app: FastifyInstance) {
    const availability = app.couriersAvailability;
    const known = async (id: string) => {
      if (!(await availability.isKnown(id))) throw new AppError(404, 'courier_not_found', `courier ${id} was never seen`);
    };
    const roles = ['dispatcher', 'admin'] as const;
    const response = {
      200: PausedSchema,
      ...errorResponses({ 400: ['validation_failed'], 401: ['unauthorized'], 403: ['forbidden'], 404: ['courier_not_found'], 429: ['rate_limited'] }),
    };

    app.post(
      '/v1/couriers/:id/pause',
      {
        attachValidation: true,
        validatorCompiler: typeboxValidator,
        schema: { summary: 'Pause a courier: no new offers (work it has stays with it)', tags: ['couriers'], params: CourierIdParams, body: PauseBody, response },
        config: { roles },
      },
      async (request) => {
        rejectInvalid(request);
        const { id } = request.params as { id: string };
        await known(id);
        await availability.pause(id);
        const reason = (request.body as { reason?: string } | null)?.reason;
        request.log.info({ courierId: id, by: request.user.sub, reason }, 'courier paused');
        return { courierId: id, paused: true };
      },
    );

    app.post(
      '/v1/couriers/:id/resume',
      {
        attachValidation: true,
        validatorCompiler: typeboxValidator,
        schema: { summary: 'Resume a paused courier', tags: ['couriers'], params: CourierIdParams, response },
        config: { roles },
      },
      async (request) => {
        rejectInvalid(request);
        const { id } = request.params as { id: string };
        await known(id);
        await availability.resume(id);
        request.log.info({ courierId: id, by: request.user.sub }, 'courier resumed');
        return { courierId: id, paused: false };
      },
    );
  },
  { name: 'dispatchd-courier-availability-routes', fastify: '5.x', dependencies: ['dispatchd-auth', 'dispatchd-courier-availability'] },
);
