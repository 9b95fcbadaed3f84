/**
 * POST /v1/quotes (store): fee and promise per delivery option for one delivery, valid until
 * `expiresAt` (QUOTE_TTL_MS); place it with `POST /v1/orders {…, quoteId}`. 422 `outside_service_area`
 * (`details.point`) when pickup or drop-off is in no active zone.
 */
import type { FastifyInstance } from 'fastify';
import type { Quote } from '../../domain/quote.js';
import { AppError } from '../errors.js';
import { errorResponses } from './common-schemas.js';
import { actorOf, rejectInvalid } from './orders.js';
import { toAppError, typeboxValidator } from './orders-schemas.js';
import { QuoteBodySchema, QuoteViewSchema, type QuoteBody } from './quotes-schemas.js';

/** What the store sees: the quote without its stored internals (store id, places, size). */
export function quoteView(q: Quote) {
  return { quoteId: q.quoteId, zoneId: q.zoneId, createdAt: q.createdAt, expiresAt: q.expiresAt, distanceM: q.distanceM, options: q.options, unavailable: q.unavailable };
}

export async function quoteRoutes(app: FastifyInstance): Promise<void> {
  app.post(
    '/v1/quotes',
    {
      attachValidation: true,
      validatorCompiler: typeboxValidator,
      config: { roles: ['store'] },
      schema: {
        summary: 'Quote a delivery: fee and promise per option',
        tags: ['quotes'],
        body: QuoteBodySchema,
        response: {
          201: QuoteViewSchema,
          ...errorResponses({ 400: ['validation_failed'], 401: [], 403: [], 422: ['outside_service_area'], 429: [] }),
        },
      },
    },
    async (request, reply) => {
      rejectInvalid(request);
      const body = request.body as QuoteBody;
      const bad = body.windows?.findIndex((w) => !(w.from < w.to)) ?? -1;
      if (bad >= 0) throw new AppError(400, 'validation_failed', `windows.${bad}: from must be before to`, { field: `windows.${bad}` });
      if (body.options?.includes('scheduled') && !body.windows) {
        throw new AppError(400, 'validation_failed', 'windows: scheduled delivery is quoted for given windows', { field: 'windows' });
      }
      try {
        return reply.code(201).send(quoteView(await app.quotes.quote(actorOf(request).id, body)));
      } catch (err) {
        throw toAppError(err);
      }
    },
  );
}
