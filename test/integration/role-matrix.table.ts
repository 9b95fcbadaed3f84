/**
 * The authorisation decision of every route: which roles may use it (`'public'`: no token needed).
 * test/integration/role-matrix.test.ts checks each route against each role, and fails for a route that
 * is missing here — add a row with every new route (and remove rows of removed ones).
 *
 * "Allowed" means the role gets past authorisation (any status but 401/403, never a 500) on a request for
 * a subject the token owns (its `sub` is every path parameter; a customer token carries the tracking
 * claim of that order); a role not listed gets 403 `forbidden` (WebSocket: close 1008 `forbidden`),
 * whether the route's `config.roles` or its handler decides (e.g. a courier reads only itself).
 * Keys: `METHOD /path` as registered (HEAD routes generated for GETs are left out).
 */
import type { Role } from '../../src/gateway/auth.js';

export type Decision = 'public' | readonly Role[];

const ALL: readonly Role[] = ['courier', 'store', 'customer', 'dispatcher', 'admin'];
const STAFF: readonly Role[] = ['dispatcher', 'admin'];

export const ROUTE_ROLES: Readonly<Record<string, Decision>> = {
  // health, docs, browser pages
  'GET /healthz': 'public',
  'GET /readyz': 'public',
  'GET /openapi.json': 'public',
  'GET /docs': 'public',
  'GET /docs/static/index.html': 'public',
  'GET /docs/static/swagger-initializer.js': 'public',
  'GET /docs/json': 'public',
  'GET /docs/yaml': 'public',
  'GET /docs/static/*': 'public',
  'GET /web/*': 'public',
  'GET /console': 'public',
  'GET /console/': 'public',
  'GET /track/*': 'public',
  'GET /asyncapi.json': 'public',
  'GET /console/config.json': 'public',
  'GET /tiles/basemap.pmtiles': 'public',
  // dispatch decisions, override preview, KPIs
  'GET /v1/orders/:id/dispatch': ['store', 'dispatcher', 'admin'],
  'GET /v1/orders/:id/assign-preview': STAFF,
  'GET /v1/kpis': STAFF,
  // zones and quotes
  'PUT /v1/zones/:id': ['admin'],
  'GET /v1/zones': STAFF,
  'GET /v1/zones/:id': STAFF,
  'GET /v1/zones/:id/travel': STAFF,
  'DELETE /v1/zones/:id': ['admin'],
  'POST /v1/quotes': ['store'],
  'GET /metrics': STAFF,
  // sockets
  'GET /v1/courier': ['courier'],
  'GET /v1/store': ['store'],
  'GET /v1/track/:orderId': ['customer', 'dispatcher', 'admin'],
  'GET /v1/console': STAFF,
  // couriers
  'GET /v1/couriers/nearby': STAFF,
  // handler-level: a courier reads only itself, stores and customers no courier
  'GET /v1/couriers/:id': ['courier', 'dispatcher', 'admin'],
  'GET /v1/couriers/:id/trail': ['courier', 'dispatcher', 'admin'],
  'POST /v1/couriers/:id/pause': STAFF,
  'POST /v1/couriers/:id/resume': STAFF,
  // orders
  'POST /v1/orders': ['store'],
  'GET /v1/orders': ['store', 'dispatcher', 'admin'],
  // customers follow their order through the tracking link, not the order API
  'GET /v1/orders/:id': ['courier', 'store', 'dispatcher', 'admin'],
  'GET /v1/orders/:id/events': ['courier', 'store', 'dispatcher', 'admin'],
  'POST /v1/orders/:id/ready': ['store'],
  'POST /v1/orders/:id/cancel': ['store', 'dispatcher', 'admin'],
  'POST /v1/orders/:id/fail': STAFF,
  'POST /v1/orders/:id/offer': STAFF,
  'POST /v1/orders/:id/tracking-link': ['store', 'dispatcher', 'admin'],
  'POST /v1/orders/:id/assign': STAFF,
  'POST /v1/orders/:id/unassign': STAFF,
  'POST /v1/orders/:id/priority': STAFF,
  // hybrid fleet: a dispatcher forces the fleet; carriers call their webhook (signed, no token)
  'POST /v1/orders/:id/fleet': STAFF,
  'POST /v1/carriers/:name/webhooks': 'public',
  // stores
  'PUT /v1/stores/:id/webhook': ['store', 'admin'],
  'GET /v1/stores/:id/webhook': ['store', 'admin'],
  'DELETE /v1/stores/:id/webhook': ['store', 'admin'],
};
