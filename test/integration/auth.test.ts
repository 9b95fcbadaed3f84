import t from 'tap';
import WebSocket from 'ws';
import { createTestContext, buildTestApp } from '../support/index.js';

// A test-only WS route (courier only) and HTTP route (dispatcher/admin) behind the real auth plugin.
const ctx = await createTestContext(t);
let handlerRuns = 0;
const { baseUrl, wsUrl, token, app } = await buildTestApp(ctx, {
  beforeListen(app) {
    app.get('/test/echo', { websocket: true, config: { roles: ['courier'] } }, (socket, request) => {
      handlerRuns++;
      socket.send(JSON.stringify({ hello: request.user.sub, role: request.user.role }));
      socket.on('message', (m) => socket.send(m));
    });
    app.get('/test/private', { config: { roles: ['dispatcher', 'admin'] } }, async (request) => ({ user: request.user }));
    app.get('/test/any', async (request) => ({ user: request.user }));
  },
});

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(baseUrl + path, { headers });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Resolves with the close code a WS client sees, and every message it received before that. */
function wsOutcome(url: string, headers: Record<string, string> = {}): Promise<{ code: number; messages: string[]; opened: boolean }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const messages: string[] = [];
    let opened = false;
    ws.on('open', () => {
      opened = true;
      ws.send('must not be processed');
    });
    ws.on('message', (m) => messages.push(m.toString()));
    ws.on('close', (code) => resolve({ code, messages, opened }));
    ws.on('error', reject);
  });
}

t.test('HTTP: missing, malformed, wrong-secret and expired tokens get 401 unauthorized', async (t) => {
  const missing = await get('/test/any');
  t.equal(missing.status, 401);
  t.equal(missing.body.code, 'unauthorized');

  t.equal((await get('/test/any', { authorization: 'Bearer not.a.jwt' })).status, 401);
  t.equal((await get('/test/any', { authorization: `Basic ${token('admin', 'a1')}` })).status, 401, 'only the Bearer scheme');

  // Same claims, signed with another secret.
  const other = await buildTestApp({ ...ctx, config: { ...ctx.config, jwtSecret: 'x'.repeat(40) } });
  const forged = await get('/test/any', { authorization: `Bearer ${other.token('admin', 'a1')}` });
  t.equal(forged.status, 401);
  t.equal(forged.body.code, 'unauthorized');
  await other.close();

  const expiredToken = app.jwt.sign({ sub: 'a1', role: 'admin', iat: Math.floor(Date.now() / 1000) - 120 }, { expiresIn: 60 });
  const expired = await get('/test/any', { authorization: `Bearer ${expiredToken}` });
  t.equal(expired.status, 401);
  t.equal(expired.body.code, 'unauthorized');
  t.match(expired.body.message, /expired/i);
});

t.test('HTTP: a token needs a known role and a subject', async (t) => {
  const noRole = app.jwt.sign({ sub: 'x' } as never);
  t.equal((await get('/test/any', { authorization: `Bearer ${noRole}` })).status, 401);
  const badRole = app.jwt.sign({ sub: 'x', role: 'superuser' } as never);
  t.equal((await get('/test/any', { authorization: `Bearer ${badRole}` })).status, 401);
  const noSub = app.jwt.sign({ role: 'admin' } as never);
  t.equal((await get('/test/any', { authorization: `Bearer ${noSub}` })).status, 401);
});

t.test('HTTP: route roles are enforced (403 forbidden), request.user is set', async (t) => {
  const courier = await get('/test/private', { authorization: `Bearer ${token('courier', 'c42')}` });
  t.equal(courier.status, 403);
  t.equal(courier.body.code, 'forbidden');

  const dispatcher = await get('/test/private', { authorization: `Bearer ${token('dispatcher', 'd1')}` });
  t.equal(dispatcher.status, 200);
  t.same(dispatcher.body.user, { sub: 'd1', role: 'dispatcher' });

  const any = await get('/test/any', { authorization: `bearer ${token('customer', 'u9')}` });
  t.equal(any.status, 200, 'scheme is case-insensitive');
});

t.test('HTTP: a ?token= query parameter is not accepted outside WebSocket upgrades', async (t) => {
  const res = await get(`/test/any?token=${token('admin', 'a1')}`);
  t.equal(res.status, 401);
});

t.test('HTTP: unknown routes without a token get 401, with a token 404 not_found', async (t) => {
  t.equal((await get('/nope')).status, 401);
  const res = await get('/nope', { authorization: `Bearer ${token('admin', 'a1')}` });
  t.equal(res.status, 404);
  t.equal(res.body.code, 'not_found');
});

t.test('WS: a valid token by header or by ?token= connects', async (t) => {
  const viaQuery = new WebSocket(`${wsUrl}/test/echo?token=${token('courier', 'c42')}`);
  const first = await new Promise<string>((resolve, reject) => {
    viaQuery.once('message', (m) => resolve(m.toString()));
    viaQuery.once('error', reject);
  });
  t.same(JSON.parse(first), { hello: 'c42', role: 'courier' });
  viaQuery.close();

  const viaHeader = new WebSocket(`${wsUrl}/test/echo`, { headers: { authorization: `Bearer ${token('courier', 'c7')}` } });
  const hello = await new Promise<string>((resolve, reject) => {
    viaHeader.once('message', (m) => resolve(m.toString()));
    viaHeader.once('error', reject);
  });
  t.same(JSON.parse(hello), { hello: 'c7', role: 'courier' });
  viaHeader.close();
});

t.test('WS: missing, invalid or expired token closes with 1008 and the handler never runs', async (t) => {
  const before = handlerRuns;
  const missing = await wsOutcome(`${wsUrl}/test/echo`);
  t.equal(missing.code, 1008);
  t.same(missing.messages, [], 'nothing processed');

  const invalid = await wsOutcome(`${wsUrl}/test/echo?token=garbage`);
  t.equal(invalid.code, 1008);

  const expiredToken = app.jwt.sign({ sub: 'c1', role: 'courier', iat: Math.floor(Date.now() / 1000) - 120 }, { expiresIn: 60 });
  const expired = await wsOutcome(`${wsUrl}/test/echo`, { authorization: `Bearer ${expiredToken}` });
  t.equal(expired.code, 1008);
  t.equal(handlerRuns, before, 'route handler not invoked for refused sockets');
});

t.test('WS: a role the route does not allow closes with 1008', async (t) => {
  const before = handlerRuns;
  const res = await wsOutcome(`${wsUrl}/test/echo?token=${token('customer', 'u1')}`);
  t.equal(res.code, 1008);
  t.same(res.messages, []);
  t.equal(handlerRuns, before);
});

t.test('open routes: /healthz needs no token', async (t) => {
  const res = await get('/healthz');
  t.equal(res.status, 200);
  t.same(res.body, { status: 'ok' });
});
