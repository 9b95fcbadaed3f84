import t from 'tap';
import { buildTestApp, createTestContext } from '../support/index.js';

interface OpenApiDoc {
  openapi: string;
  paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown>; required?: string[] } }> }; security?: unknown[] }>>;
  components: { securitySchemes: Record<string, { type: string; scheme: string; bearerFormat?: string }> };
  security: Record<string, unknown[]>[];
}

const ctx = await createTestContext(t, { WEBHOOK_SENDER: 'off' });
const { baseUrl } = await buildTestApp(ctx);

t.test('GET /openapi.json: an OpenAPI 3 document of the routes, without a token', async (t) => {
  const res = await fetch(`${baseUrl}/openapi.json`);
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /application\/json/);
  const doc = (await res.json()) as OpenApiDoc;
  t.match(doc.openapi, /^3\.\d+\.\d+$/);

  const placeOrder = doc.paths['/v1/orders']?.post;
  t.ok(placeOrder, 'POST /v1/orders is listed');
  const schema = placeOrder?.requestBody?.content['application/json']?.schema;
  t.ok(schema?.properties?.pickup && schema?.properties?.dropoff, 'with its request schema (pickup, drop-off)');
  t.ok(schema?.required?.includes('pickup'), 'required fields are carried over');

  for (const p of ['/v1/orders/{id}/assign', '/v1/orders/{id}/unassign', '/v1/orders/{id}/priority']) {
    t.ok(doc.paths[p]?.post?.requestBody, `override route ${p} with its body schema`);
  }
  t.ok(doc.paths['/metrics']?.get, '/metrics is listed');

  t.same(doc.components.securitySchemes.bearerAuth, { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
  t.same(doc.security, [{ bearerAuth: [] }], 'a bearer JWT is needed by default');
  t.same(doc.paths['/healthz']?.get?.security, [], 'health needs no token');
  t.notOk(doc.paths['/docs'] ?? doc.paths['/openapi.json'], 'the docs do not document themselves');
  t.notOk(doc.paths['/v1/courier'], 'WebSocket upgrades are not HTTP API operations');
});

t.test('GET /docs: Swagger UI served from the package, without a token', async (t) => {
  const res = await fetch(`${baseUrl}/docs`);
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /text\/html/);
  const html = await res.text();
  t.match(html, /swagger-ui/i);
  t.notMatch(html, /https?:\/\/(?:unpkg|cdn|cdnjs)\b/, 'no CDN');
  const bundle = await fetch(`${baseUrl}/docs/static/swagger-ui-bundle.js`);
  t.equal(bundle.status, 200, 'the UI assets are served locally');
  await bundle.arrayBuffer();
});

t.test('GET /asyncapi.json: the WebSocket protocols (AsyncAPI 3), without a token; pages are not API operations', async (t) => {
  const res = await fetch(`${baseUrl}/asyncapi.json`);
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /application\/json/);
  const doc = (await res.json()) as { asyncapi: string; channels: Record<string, { address: string }> };
  t.equal(doc.asyncapi, '3.0.0');
  t.same(
    Object.values(doc.channels).map((c) => c.address).sort(),
    ['/v1/console', '/v1/courier', '/v1/store', '/v1/track/{orderId}'],
  );
  const openapi = (await (await fetch(`${baseUrl}/openapi.json`)).json()) as OpenApiDoc;
  t.notOk(openapi.paths['/asyncapi.json'] ?? openapi.paths['/console'] ?? openapi.paths['/track/*'], 'documents and pages are hidden');
});

t.test('other routes still need a token', async (t) => {
  t.equal((await fetch(`${baseUrl}/v1/orders`)).status, 401);
});
