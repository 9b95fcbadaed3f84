/**
 * Store webhook endpoints:
 *   PUT    /v1/stores/:id/webhook {url, secret}   store (its own id) or admin → 200 {url, updatedAt}
 *   GET    /v1/stores/:id/webhook                 → 200 {url, updatedAt} (never the secret) or 404
 *   DELETE /v1/stores/:id/webhook                 → 204; later events are not sent
 * Every order event of the store is then POSTed to `url`, signed with `secret` (see runtime/webhook-sender.ts).
 * A URL on an internal address (loopback, private, link-local/metadata, …) is refused with 422
 * `webhook_target_forbidden` unless WEBHOOK_ALLOW_PRIVATE; one that does not resolve with 422
 * `webhook_target_unresolvable`.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { checkWebhookUrl, WebhookTargetError } from '../../runtime/webhook-target.js';
import { AppError } from '../errors.js';
import { rejectInvalid } from './orders.js';
import { typeboxValidator } from './orders-schemas.js';
import { errorResponses } from './common-schemas.js';
import { WebhookSchema } from './response-schemas.js';

const AUTH = { 400: ['validation_failed'], 401: ['unauthorized'], 403: ['forbidden'] } as const;

const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) });
const Body = Type.Object(
  {
    url: Type.String({ pattern: '^https?://', maxLength: 2000 }),
    // a short secret would make signatures guessable
    secret: Type.String({ minLength: 16, maxLength: 500 }),
  },
  { additionalProperties: false },
);

function ownStore(request: FastifyRequest): string {
  const { id } = request.params as { id: string };
  if (request.user.role === 'store' && request.user.sub !== id) {
    throw new AppError(403, 'forbidden', 'a store may only manage its own webhook');
  }
  return id;
}

export async function storeRoutes(app: FastifyInstance): Promise<void> {
  const { repo } = app.orders;
  const config = { roles: ['store', 'admin'] as const };

  app.put('/v1/stores/:id/webhook', {
    attachValidation: true,
    validatorCompiler: typeboxValidator,
    schema: {
      summary: "Register or replace a store's webhook",
      description: 'Every order event of the store is then POSTed to `url`, signed with `secret` (see the README, "Webhooks").',
      tags: ['stores'],
      params: Params,
      body: Body,
      response: {
        200: WebhookSchema,
        ...errorResponses({ ...AUTH, 422: ['webhook_target_forbidden', 'webhook_target_unresolvable'], 429: ['rate_limited'] }),
      },
    },
    config,
  }, async (request) => {
    rejectInvalid(request);
    const id = ownStore(request);
    const { url, secret } = request.body as { url: string; secret: string };
    try {
      await checkWebhookUrl(url, app.config.webhookAllowPrivate);
    } catch (err) {
      if (!(err instanceof WebhookTargetError)) throw err;
      throw new AppError(err.code === 'validation_failed' ? 400 : 422, err.code, err.message, { field: 'url' });
    }
    await repo.setWebhook(id, url, secret, app.clock.now());
    return repo.getWebhook(id);
  });

  app.get('/v1/stores/:id/webhook', {
    attachValidation: true,
    validatorCompiler: typeboxValidator,
    schema: {
      summary: "A store's webhook (never its secret)",
      tags: ['stores'],
      params: Params,
      response: { 200: WebhookSchema, ...errorResponses({ ...AUTH, 404: ['webhook_not_found'] }) },
    },
    config,
  }, async (request) => {
    rejectInvalid(request);
    const hook = await repo.getWebhook(ownStore(request));
    if (!hook) throw new AppError(404, 'webhook_not_found', 'no webhook registered');
    return hook;
  });

  app.delete('/v1/stores/:id/webhook', {
    attachValidation: true,
    validatorCompiler: typeboxValidator,
    schema: {
      summary: "Remove a store's webhook; later events are not sent",
      tags: ['stores'],
      params: Params,
      response: { 204: Type.Null({ description: 'removed' }), ...errorResponses({ ...AUTH, 404: ['webhook_not_found'], 429: ['rate_limited'] }) },
    },
    config,
  }, async (request, reply) => {
    rejectInvalid(request);
    if (!(await repo.deleteWebhook(ownStore(request), app.clock.now()))) throw new AppError(404, 'webhook_not_found', 'no webhook registered');
    return reply.code(204).send();
  });
}
