/**
 * POST /v1/orders/:id/tracking-link (store, own orders; dispatcher and admin, any order — the console links it) → 201 {token, url, pageUrl, expiresAt}
 * (`url`: the tracking socket; `pageUrl`: the customer's tracking page)
 *
 * The token is a JWT with role `customer` and an `order` claim: it opens `/v1/track/:orderId` for that
 * one order only, expires after TRACKING_TOKEN_TTL_MS, and stops working TRACKING_GRACE_MS after the
 * order ends (checked by the tracking socket, since a JWT cannot be revoked).
 */
import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';
import { OrderIdParams, typeboxValidator } from './orders-schemas.js';
import { rejectInvalid } from './orders.js';
import { errorResponses } from './common-schemas.js';
import { TrackingLinkSchema } from './response-schemas.js';

export const TRACKING_CLAIM = 'order';

export async function trackingRoutes(app: FastifyInstance): Promise<void> {
  const { repo } = app.orders;
  app.post(
    '/v1/orders/:id/tracking-link',
    {
      attachValidation: true,
      validatorCompiler: typeboxValidator,
      schema: {
        summary: 'Create a customer tracking link for an order',
        description: 'A customer token for this one order: it opens the tracking socket and page, and stops working after TRACKING_TOKEN_TTL_MS or TRACKING_GRACE_MS after the order ends.',
        tags: ['tracking'],
        params: OrderIdParams,
        response: {
          201: TrackingLinkSchema,
          ...errorResponses({ 400: ['validation_failed'], 401: ['unauthorized'], 403: ['forbidden'], 404: ['order_not_found'], 429: ['rate_limited'] }),
        },
      },
      config: { roles: ['store', 'dispatcher', 'admin'] },
    },
    async (request, reply) => {
      rejectInvalid(request);
      const { id } = request.params as { id: string };
      const order = await repo.get(id);
      if (!order || (request.user.role === 'store' && order.storeId !== request.user.sub)) throw new AppError(404, 'order_not_found', 'order not found');
      const ttlS = Math.max(1, Math.round(app.config.trackingTokenTtlMs / 1000));
      const token = app.jwt.sign({ sub: `order:${id}`, role: 'customer', [TRACKING_CLAIM]: id }, { expiresIn: `${ttlS}s` });
      const path = `/v1/track/${id}?token=${encodeURIComponent(token)}`;
      const base = app.config.trackingBaseUrl.replace(/\/$/, '');
      return reply.code(201).send({
        token,
        url: `${base}${path}`,
        // the customer's tracking page (gateway/http/web-pages.ts), which opens `url` itself
        pageUrl: `${base}/track/${encodeURIComponent(token)}`,
        expiresAt: Date.now() + ttlS * 1000,
      });
    },
  );
}
