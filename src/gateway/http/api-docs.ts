import fp from 'fastify-plugin';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, RouteOptions } from 'fastify';

/**
 * The OpenAPI 3 document of the HTTP API, generated from the routes' own (typebox) schemas, at
 * `GET /openapi.json`, and Swagger UI at `/docs` (assets served from the package, no CDN). Both are
 * public; every other route needs the bearer JWT, which the document declares as `bearerAuth`.
 * Must be registered before the routes: swagger collects routes as they are added.
 */

export const OPENAPI_PATH = '/openapi.json';
export const DOCS_PREFIX = '/docs';

function isWebSocketRoute(route: RouteOptions): boolean {
  return (route as { websocket?: boolean }).websocket === true;
}

export const apiDocs = fp(
  async function apiDocs(app: FastifyInstance) {
    await app.register(fastifySwagger, {
      openapi: {
        openapi: '3.0.3',
        info: {
          title: 'dispatchd',
          description: 'Real-time dispatch and last-mile logistics service. WebSocket endpoints are described in the README.',
          version: '0.1.0',
        },
        components: {
          securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
        },
        security: [{ bearerAuth: [] }],
      },
      transform({ schema, url, route }) {
        const out = { ...(schema ?? {}) } as Record<string, unknown>;
        // WebSocket upgrades and the docs themselves are not part of the HTTP API.
        if (isWebSocketRoute(route) || url === OPENAPI_PATH || url.startsWith(DOCS_PREFIX)) out.hide = true;
        // Public routes (health, optionally metrics) need no token.
        if (route.config?.public) out.security = [];
        return { schema: out, url };
      },
    });

    app.get(OPENAPI_PATH, { config: { public: true } }, async () => app.swagger());

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
