import fp from 'fastify-plugin';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { ErrorResponse } from './common-schemas.js';
import { SHARED_SCHEMAS } from './response-schemas.js';
import { ASYNCAPI_PATH, buildAsyncApi } from '../ws/asyncapi.js';

/**
 * The OpenAPI 3 document of the HTTP API, generated from the routes' own (typebox) schemas, at
 * `GET /openapi.json`, the AsyncAPI 3 document of the WebSocket protocols at `GET /asyncapi.json`, and Swagger UI at `/docs` (assets served from the package, no CDN). Both are
 * public; every other route needs the bearer JWT, which the document declares as `bearerAuth`.
 * Must be registered before the routes: swagger collects routes as they are added.
 *
 * Shared schemas (ErrorResponse, Order, …) are added here with their `$id`, so routes reference them
 * with `Type.Ref(...)`: the serializer resolves the reference and the document lists each once under
 * `components.schemas`. Routes with `schema.hide` (pages, assets, the docs) are left out.
 */

export const OPENAPI_PATH = '/openapi.json';
export const DOCS_PREFIX = '/docs';

function isWebSocketRoute(route: RouteOptions): boolean {
  return (route as { websocket?: boolean }).websocket === true;
}

export const API_TAGS = ['orders', 'couriers', 'dispatch', 'tracking', 'stores', 'zones', 'quotes', 'kpis', 'admin', 'health'] as const;

export const apiDocs = fp(
  async function apiDocs(app: FastifyInstance) {
    for (const schema of [ErrorResponse, ...SHARED_SCHEMAS]) app.addSchema(schema);
    await app.register(fastifySwagger, {
      openapi: {
        openapi: '3.0.3',
        info: {
          title: 'dispatchd',
          description:
            'Real-time dispatch and last-mile logistics service. Times are epoch milliseconds. Errors are `{code, message, details?}`. ' +
            'The WebSocket protocols (courier, store, tracking, console) are described by the AsyncAPI document at /asyncapi.json.',
          version: '0.1.0',
        },
        components: {
          securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
        },
        security: [{ bearerAuth: [] }],
        tags: API_TAGS.map((name) => ({ name })),
      },
      // `$id` of a shared schema → its name under components.schemas
      refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
      transform({ schema, url, route }) {
        const out = { ...(schema ?? {}) } as Record<string, unknown>;
        // WebSocket upgrades and the docs themselves are not part of the HTTP API.
        if (isWebSocketRoute(route) || url === OPENAPI_PATH || url.startsWith(DOCS_PREFIX)) out.hide = true;
        // Public routes (health, optionally metrics) need no token.
        if (route.config?.public) out.security = [];
        return { schema: out, url };
      },
    });

    app.get(OPENAPI_PATH, { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
    // the WebSocket protocols (AsyncAPI 3), built once: the frame schemas do not change at run time
    const asyncApi = JSON.stringify(buildAsyncApi());
    app.get(ASYNCAPI_PATH, { config: { public: true }, schema: { hide: true } }, async (_request, reply) =>
      reply.type('application/json').send(asyncApi),
    );

    // Encapsulated so the hook marks only the UI's own routes public.
    await app.register(async (docs) => {
      docs.addHook('onRoute', (route) => {
        route.config = { ...route.config, public: true };
      });
      await docs.register(fastifySwaggerUi, { routePrefix: DOCS_PREFIX });
    });
  },
  { name: 'dispatchd-api-docs', fastify: '5.x', dependencies: ['dispatchd-auth'] },
);
