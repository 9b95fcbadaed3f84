/**
 * The role matrix, generated from the routes the app registers (fastify's onRoute): every route needs a
 * row in role-matrix.table.ts, and every role gets exactly the decision the row says — 403 (or close
 * 1008 `forbidden` on a socket) when not allowed, anything but 401/403 (and no 500) when allowed; no
 * token at all gets 401 except on public routes.
 */
import { randomUUID } from 'node:crypto';
import t from 'tap';
import WebSocket from 'ws';
import { ROLES, type Role } from '../../src/gateway/auth.js';
import { TRACKING_CLAIM } from '../../src/gateway/http/tracking.js';
import { buildTestApp, createTestContext } from '../support/index.js';
import { ROUTE_ROLES } from './role-matrix.table.js';

const ctx = await createTestContext(t);
const routes: { method: string; url: string; websocket: boolean }[] = [];
const { app, baseUrl, wsUrl } = await buildTestApp(ctx, {
  onRoute(route) {
    for (const method of [route.method].flat()) {
      // HEAD twins of GET routes follow the GET's decision.
      if (method === 'HEAD') continue;
      routes.push({ method, url: route.url!, websocket: Boolean((route as { websocket?: boolean }).websocket) });
    }
  },
});

// One subject owns everything addressed: tokens' `sub` and every path parameter, so a role that is
// allowed is never refused for asking about someone else.
const SUBJECT = randomUUID();
const pathOf = (url: string) => url.replace(/:[A-Za-z]+/g, SUBJECT).replace(/\*$/, 'x');
const token = (role: Role) => app.jwt.sign({ sub: SUBJECT, role, ...(role === 'customer' ? { [TRACKING_CLAIM]: SUBJECT } : {}) });
/** Past authorisation: neither 401 nor 403, and no crash (503 is fine: e.g. web pages not built). */
const passed = (status: number) => status !== 401 && status !== 403 && status !== 500;

async function httpStatus(method: string, url: string, role?: Role): Promise<{ status: number; code?: string }> {
  const body = method === 'POST' || method === 'PUT' || method === 'PATCH' ? '{}' : undefined;
  const res = await fetch(`${baseUrl}${pathOf(url)}`, {
    method,
    headers: { ...(role ? { authorization: `Bearer ${token(role)}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body,
  });
  const text = await res.text();
  let code: string | undefined;
  try {
    code = (JSON.parse(text) as { code?: string }).code;
  } catch {
    // not JSON (pages, docs)
  }
  return { status: res.status, code };
}

/** 'open' if the socket stays open ~300 ms, else how it closed. */
function wsOutcome(url: string, role?: Role): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${wsUrl}${pathOf(url)}`, role ? { headers: { authorization: `Bearer ${token(role)}` } } : {});
    const timer = setTimeout(() => {
      ws.close();
      resolve('open');
    }, 300);
    ws.on('close', (code, reason) => {
      clearTimeout(timer);
      resolve(`${code} ${reason.toString()}`);
    });
    ws.on('error', () => {});
  });
}

/** Routes without a row, and rows without a route. */
function tableGaps(list: { method: string; url: string }[], table: Readonly<Record<string, unknown>>): { unlisted: string[]; stale: string[] } {
  const registered = new Set(list.map((r) => `${r.method} ${r.url}`));
  return { unlisted: [...registered].filter((k) => !Object.hasOwn(table, k)), stale: Object.keys(table).filter((k) => !registered.has(k)) };
}

t.test('every registered route has an authorisation decision in the table, and every row is a route', async (t) => {
  const gaps = tableGaps(routes, ROUTE_ROLES);
  t.same(gaps.unlisted, [], 'routes without a row in test/integration/role-matrix.table.ts');
  t.same(gaps.stale, [], 'rows for routes that do not exist');
  // The check itself: a new route without a row is reported.
  t.same(tableGaps([...routes, { method: 'POST', url: '/v1/new-thing' }], ROUTE_ROLES).unlisted, ['POST /v1/new-thing'], 'a route without a row fails');
});

for (const route of routes) {
  const key = `${route.method} ${route.url}`;
  const decision = ROUTE_ROLES[key];
  if (!decision) continue; // reported by the test above
  t.test(key, async (t) => {
    if (route.websocket) {
      if (decision !== 'public') t.equal(await wsOutcome(route.url), '1008 unauthorized', 'no token: 1008 unauthorized');
      for (const role of ROLES) {
        const outcome = await wsOutcome(route.url, role);
        if (decision === 'public' || decision.includes(role)) t.not(outcome, '1008 forbidden', `${role}: allowed (${outcome})`);
        else t.equal(outcome, '1008 forbidden', `${role}: refused`);
      }
      return;
    }
    if (decision === 'public') {
      const res = await httpStatus(route.method, route.url);
      t.ok(passed(res.status), `no token needed (${res.status})`);
      return;
    }
    t.match(await httpStatus(route.method, route.url), { status: 401, code: 'unauthorized' }, 'no token: 401');
    for (const role of ROLES) {
      const res = await httpStatus(route.method, route.url, role);
      if (decision.includes(role)) t.ok(passed(res.status), `${role}: allowed (${res.status} ${res.code ?? ''})`);
      else t.match(res, { status: 403, code: 'forbidden' }, `${role}: 403 forbidden`);
    }
  });
}
