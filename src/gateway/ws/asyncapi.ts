/**
 * The AsyncAPI 3 document of the WebSocket protocols (`GET /asyncapi.json`), built from the TypeBox
 * frame schemas in frame-schemas.ts, so it names exactly the frames the sockets validate and send.
 * Operations are from the service's side: `receive` = frames clients send, `send` = frames it pushes.
 */
import { OrderStatusSchema, CourierOrderViewSchema } from '../http/response-schemas.js';
import { SOCKETS, type SocketProtocol } from './frame-schemas.js';

export const ASYNCAPI_PATH = '/asyncapi.json';

/** Schemas the frames reference by `$id`. */
const SHARED = [OrderStatusSchema, CourierOrderViewSchema];

/** Plain JSON of a TypeBox schema: `$ref: 'X'` → `#/components/schemas/X`, no `$id`. */
function toJson(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(toJson);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === '$id') continue;
    if (k === '$ref' && typeof v === 'string' && !v.startsWith('#')) out[k] = `#/components/schemas/${v}`;
    else out[k] = toJson(v);
  }
  return out;
}

/** `offer.accept` → `offer_accept` (message keys allow letters, digits, `_` and `-`). */
export function messageKey(direction: 'in' | 'out', type: string): string {
  return `${direction}_${type.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

function channel(name: string, p: SocketProtocol) {
  const params = [...p.path.matchAll(/:(\w+)/g)].map((m) => m[1]!);
  const messages: Record<string, unknown> = {};
  for (const [dir, frames] of [['in', p.receives], ['out', p.sends]] as const) {
    for (const [type, schema] of Object.entries(frames)) {
      messages[messageKey(dir, type)] = {
        name: type,
        title: `${type} (${dir === 'in' ? 'client → server' : 'server → client'})`,
        ...(schema.description ? { summary: schema.description } : {}),
        contentType: 'application/json',
        payload: toJson(schema),
      };
    }
  }
  return {
    address: p.path.replace(/:(\w+)/g, '{$1}'),
    title: p.title,
    description: `${p.description} Roles: ${p.roles.join(', ')}.`,
    ...(params.length ? { parameters: Object.fromEntries(params.map((n) => [n, { description: `the ${n}` }])) } : {}),
    messages,
  };
}

function operations(name: string, p: SocketProtocol) {
  const ref = (dir: 'in' | 'out', frames: Record<string, unknown>) =>
    Object.keys(frames).map((type) => ({ $ref: `#/channels/${name}/messages/${messageKey(dir, type)}` }));
  const ops: Record<string, unknown> = {};
  if (Object.keys(p.receives).length) {
    ops[`${name}Receive`] = { action: 'receive', channel: { $ref: `#/channels/${name}` }, title: `${p.title}: client frames`, messages: ref('in', p.receives) };
  }
  ops[`${name}Send`] = { action: 'send', channel: { $ref: `#/channels/${name}` }, title: `${p.title}: server frames`, messages: ref('out', p.sends) };
  return ops;
}

export function buildAsyncApi(version = '0.1.0'): Record<string, unknown> {
  const entries = Object.entries(SOCKETS) as [string, SocketProtocol][];
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'dispatchd WebSockets',
      version,
      description:
        'JSON text frames, each an object with a string `type`. Authenticate with `Authorization: Bearer <jwt>` or `?token=<jwt>` ' +
        '(browsers). Times are epoch milliseconds. The HTTP API is described by /openapi.json.',
    },
    defaultContentType: 'application/json',
    servers: {
      local: {
        host: 'localhost:3000',
        protocol: 'ws',
        description: 'a local service (use wss behind TLS)',
        security: [{ $ref: '#/components/securitySchemes/bearer' }, { $ref: '#/components/securitySchemes/queryToken' }],
      },
    },
    channels: Object.fromEntries(entries.map(([name, p]) => [name, channel(name, p)])),
    operations: Object.assign({}, ...entries.map(([name, p]) => operations(name, p))),
    components: {
      schemas: Object.fromEntries(SHARED.map((s) => [s.$id!, toJson(s)])),
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        queryToken: { type: 'httpApiKey', name: 'token', in: 'query' },
      },
    },
  };
}
