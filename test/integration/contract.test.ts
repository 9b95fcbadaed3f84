/**
 * The published contract is complete: every HTTP route is described (summary, tag, request schema,
 * success and error responses) or deliberately hidden, the OpenAPI document is valid, and every
 * WebSocket frame the servers accept or send is in the AsyncAPI document. Failures list exactly
 * what is missing, route by route, so adding a route without its contract fails here.
 */
import { readFileSync, readdirSync } from 'node:fs';
import t from 'tap';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { FastifyInstance } from 'fastify';
import { contractDocs } from '../../src/cli/contract-docs.js';
import { API_TAGS } from '../../src/gateway/http/api-docs.js';
import { storeFrameChecks } from '../../src/gateway/http/orders-schemas.js';
import { SOCKETS } from '../../src/gateway/ws/frame-schemas.js';

interface Operation {
  summary?: string;
  tags?: string[];
  parameters?: { name: string; in: string }[];
  requestBody?: unknown;
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }>;
}
type Doc = { paths: Record<string, Record<string, Operation>> };

let courierFrameTypes: string[] = [];
const docs = await contractDocs((app: FastifyInstance) => {
  courierFrameTypes = app.courierFrames.types();
});
const openapi = docs.openapi as unknown as Doc;
const asyncapi = docs.asyncapi as {
  asyncapi: string;
  channels: Record<string, { address: string; messages: Record<string, { name: string; payload: { properties?: { type?: { const?: string } } } }> }>;
  operations: Record<string, { action: string; channel: { $ref: string }; messages: { $ref: string }[] }>;
  components: { schemas: Record<string, unknown> };
};

/** Routes that are not API operations: pages, their assets, and the documents themselves. */
// pages and what only they load: the console's page config and the basemap tile archive
const HIDDEN_ALLOWED = [/^\/console\/?$/, /^\/console\/config\.json$/, /^\/tiles\//, /^\/track\/\*$/, /^\/web\/\*?$/, /^\/docs(\/|$)/, /^\/openapi\.json$/, /^\/asyncapi\.json$/];
/** Routes that answer whenever the process serves, so declare no error response. */
const NO_ERRORS = new Set(['GET /healthz']);
/** Writes that take no body by design. */
const NO_BODY = new Set(['POST /v1/couriers/:id/resume', 'POST /v1/orders/:id/tracking-link']);
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

const fastifyPath = (openapiPath: string) => openapiPath.replace(/\{(\w+)\}/g, ':$1');

t.test('the OpenAPI document is valid OpenAPI 3', async (t) => {
  const validator = new Validator();
  const res = await validator.validate(structuredClone(docs.openapi) as Parameters<Validator['validate']>[0]);
  t.ok(res.valid, `OpenAPI validation errors: ${JSON.stringify(res.errors, null, 2)}`);
});

t.test('every HTTP route is in the OpenAPI document with summary, tag, request and response schemas, and errors', async (t) => {
  const problems: string[] = [];
  const documented = new Set<string>();
  for (const [path, ops] of Object.entries(openapi.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      if (!METHODS.includes(method)) continue;
      const name = `${method.toUpperCase()} ${fastifyPath(path)}`;
      documented.add(name);
      if (!op.summary) problems.push(`${name}: no summary (add schema.summary)`);
      if (!op.tags?.length || op.tags.some((tag) => !(API_TAGS as readonly string[]).includes(tag))) {
        problems.push(`${name}: schema.tags must be one of ${API_TAGS.join(', ')} (has ${JSON.stringify(op.tags ?? [])})`);
      }
      for (const param of path.match(/\{(\w+)\}/g) ?? []) {
        const p = param.slice(1, -1);
        if (!op.parameters?.some((x) => x.in === 'path' && x.name === p)) problems.push(`${name}: path parameter ${p} not described (add schema.params)`);
      }
      if ((method === 'post' || method === 'put' || method === 'patch') && !op.requestBody && !NO_BODY.has(name)) {
        problems.push(`${name}: no request body schema (add schema.body, or a reason to this test's list)`);
      }
      const responses = Object.entries(op.responses ?? {});
      const success = responses.filter(([code]) => /^2\d\d$/.test(code));
      if (success.length === 0 || success.every(([code]) => code === '200' && op.responses![code]!.description === 'Default Response' && !op.responses![code]!.content)) {
        problems.push(`${name}: no success response schema (add schema.response[200|201|204])`);
      }
      for (const [code, r] of success) {
        if (code !== '204' && !r.content) problems.push(`${name}: success response ${code} has no schema`);
      }
      const errors = responses.filter(([code]) => /^[45]\d\d$/.test(code));
      if (errors.length === 0 && !NO_ERRORS.has(name)) {
        problems.push(`${name}: no error responses (add ...errorResponses({400: [codes], 401: ['unauthorized'], …}) to schema.response)`);
      }
      for (const [code, r] of errors) {
        if (!r.content) problems.push(`${name}: error response ${code} has no schema (use errorResponses())`);
      }
    }
  }
  for (const route of docs.routes) {
    if (route.websocket) continue;
    const name = `${route.method} ${route.url}`;
    if (documented.has(name)) continue;
    if (route.hidden && HIDDEN_ALLOWED.some((re) => re.test(route.url))) continue;
    problems.push(`${name}: ${route.hidden ? 'hidden from' : 'missing in'} the OpenAPI document (give it a full schema; only pages and docs may be hidden)`);
  }
  t.same(problems, [], problems.join('\n'));
  t.ok(documented.has('POST /v1/orders'), 'sanity: the order API is documented');
});

t.test('routes that create answer 201 in the document, as their handlers do', async (t) => {
  t.ok(openapi.paths['/v1/orders']!.post!.responses!['201'], 'POST /v1/orders: 201');
  t.ok(openapi.paths['/v1/orders/{id}/tracking-link']!.post!.responses!['201'], 'tracking-link: 201');
  t.ok(openapi.paths['/v1/orders/{id}/offer']!.post!.responses!['201'], 'offer: 201');
  t.notOk(openapi.paths['/console'], 'pages are hidden');
  t.notOk(Object.keys(openapi.paths).some((p) => p.startsWith('/track/') || p.startsWith('/web/') || p.startsWith('/docs')), 'pages and docs hidden');
});

t.test('every WebSocket route has an AsyncAPI channel, and every frame type is described', async (t) => {
  t.equal(asyncapi.asyncapi, '3.0.0');
  const problems: string[] = [];
  const byAddress = new Map(Object.entries(asyncapi.channels).map(([name, c]) => [c.address, { name, c }]));
  for (const route of docs.routes.filter((r) => r.websocket)) {
    const address = route.url.replace(/:(\w+)/g, '{$1}');
    if (!byAddress.has(address)) problems.push(`WebSocket ${route.url}: no AsyncAPI channel (add it to SOCKETS in src/gateway/ws/frame-schemas.ts)`);
  }
  const types = (socket: string, dir: 'in' | 'out') =>
    Object.entries(asyncapi.channels[socket]?.messages ?? {})
      .filter(([key]) => key.startsWith(`${dir}_`))
      .map(([, m]) => m.name);
  // inbound: what the servers actually dispatch on
  for (const type of courierFrameTypes) {
    if (!types('courier', 'in').includes(type)) problems.push(`courier socket accepts "${type}" but the AsyncAPI document lacks it (add it to CourierInSchemas)`);
  }
  for (const type of types('courier', 'in')) {
    if (!courierFrameTypes.includes(type)) problems.push(`courier socket: "${type}" is documented but no handler is registered`);
  }
  for (const type of Object.keys(storeFrameChecks)) {
    if (!types('store', 'in').includes(type)) problems.push(`store socket accepts "${type}" but the AsyncAPI document lacks it`);
  }
  // outbound: every dotted frame type the socket code and the runtime push must be described
  const sent = new Set(Object.values(asyncapi.channels).flatMap((c) => Object.values(c.messages).map((m) => m.name)));
  const INTERNAL = new Set(['task.refresh']); // bus-only message, never written to a socket
  const sources = [
    ...readdirSync('src/gateway/ws').map((f) => `src/gateway/ws/${f}`),
    ...['offers', 'courier-tasks', 'order-lifecycle', 'order-overrides', 'console-state'].map((f) => `src/runtime/${f}.ts`),
  ];
  for (const file of sources) {
    for (const m of readFileSync(file, 'utf8').matchAll(/type: '([a-z]+\.[a-z.]+)'/g)) {
      if (!sent.has(m[1]!) && !INTERNAL.has(m[1]!)) problems.push(`${file} sends frame "${m[1]}" that the AsyncAPI document lacks (add it to frame-schemas.ts)`);
    }
  }
  // every message names its frame type, and every operation points at real messages
  for (const [name, c] of Object.entries(asyncapi.channels)) {
    for (const [key, m] of Object.entries(c.messages)) {
      if (m.payload.properties?.type?.const !== m.name) problems.push(`channel ${name} message ${key}: payload.type is not the literal "${m.name}"`);
    }
  }
  for (const [opName, op] of Object.entries(asyncapi.operations)) {
    const channel = op.channel.$ref.replace('#/channels/', '');
    if (!asyncapi.channels[channel]) problems.push(`operation ${opName}: unknown channel ${channel}`);
    for (const ref of op.messages) {
      const [, ch, , key] = ref.$ref.split('/').slice(1);
      if (!asyncapi.channels[ch!]?.messages[key!]) problems.push(`operation ${opName}: unknown message ${ref.$ref}`);
    }
  }
  for (const ref of JSON.stringify(asyncapi).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)) {
    if (!asyncapi.components.schemas[ref[1]!]) problems.push(`AsyncAPI: $ref to missing schema ${ref[1]}`);
  }
  t.same(problems, [], problems.join('\n'));
  t.same(Object.keys(SOCKETS).sort(), ['console', 'courier', 'store', 'track']);
});
