/**
 * JWT key rotation without downtime (JWT_KEYS + JWT_SIGNING_KID, README "JWT key rotation"): each step
 * of a rotation is a service configuration, and a token signed in one step keeps working in the next as
 * long as its key is still listed; an unknown or removed kid gets 401.
 */
import t from 'tap';
import { loadConfig, type Config } from '../../src/config.js';
import { createTestContext, buildTestApp, runService, type TestApp } from '../support/index.js';

const ctx = await createTestContext(t);
const SECRET = 'legacy-secret-'.padEnd(40, 'x');
const K1 = 'key-one-secret-'.padEnd(40, '1');
const K2 = 'key-two-secret-'.padEnd(40, '2');

/** The app as configured by these JWT variables (everything else from the test context). */
async function appWith(env: Record<string, string>): Promise<TestApp> {
  const parsed = loadConfig(env);
  const config: Partial<Config> = { jwtSecret: parsed.jwtSecret, jwtKeys: parsed.jwtKeys, jwtSigningKid: parsed.jwtSigningKid };
  return buildTestApp(ctx, {
    config,
    beforeListen(app) {
      app.get('/test/me', async (request) => request.user);
    },
  });
}

async function status(app: TestApp, token: string): Promise<number> {
  return (await fetch(`${app.baseUrl}/test/me`, { headers: { authorization: `Bearer ${token}` } })).status;
}

/** The token's `kid` header, decoded (not verified) with @fastify/jwt's decoder. */
const kidOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')).kid as string | undefined;

t.test('rotation from JWT_SECRET to JWT_KEYS and from key to key: old tokens keep verifying until their key is removed', async (t) => {
  // Step 0: a single JWT_SECRET, tokens without kid.
  const step0 = await appWith({ JWT_SECRET: SECRET });
  const t0 = step0.token('admin', 'a0');
  t.equal(kidOf(t0), undefined, 'JWT_SECRET alone signs without a kid (as before)');
  t.equal(await status(step0, t0), 200);
  await step0.close();

  // Step 1: key k1 added and signing; JWT_SECRET still verifies the kid-less tokens already out there.
  const step1 = await appWith({ JWT_SECRET: SECRET, JWT_KEYS: `k1:${K1}` });
  const t1 = step1.token('admin', 'a1');
  t.equal(kidOf(t1), 'k1', 'new tokens carry the signing kid');
  t.equal(await status(step1, t0), 200, 'a token of the old JWT_SECRET still verifies');
  t.equal(await status(step1, t1), 200);
  await step1.close();

  // Step 2: k2 added and made the signing key; k1 still verifies; JWT_SECRET retired.
  const step2 = await appWith({ JWT_KEYS: `k1:${K1},k2:${K2}`, JWT_SIGNING_KID: 'k2' });
  const t2 = step2.token('admin', 'a2');
  t.equal(kidOf(t2), 'k2');
  t.equal(await status(step2, t1), 200, 'a token signed with the old key still verifies after rotation');
  t.equal(await status(step2, t2), 200);
  const noKid = await fetch(`${step2.baseUrl}/test/me`, { headers: { authorization: `Bearer ${t0}` } });
  t.equal(noKid.status, 401, 'kid-less tokens fail once JWT_SECRET is gone');
  t.match(await noKid.json(), { code: 'unauthorized' });
  await step2.close();

  // Step 3: k1 removed.
  const step3 = await appWith({ JWT_KEYS: `k2:${K2}` });
  t.equal(await status(step3, t2), 200, 'the current key verifies');
  t.equal(await status(step3, t1), 401, 'a removed kid is unknown: 401');
  await step3.close();
});

t.test('an unknown kid, or a known kid with another key’s signature, is 401', async (t) => {
  const app = await appWith({ JWT_KEYS: `k1:${K1},k2:${K2}`, JWT_SIGNING_KID: 'k1' });
  const forgedKid = app.app.jwt.sign({ sub: 'x', role: 'admin' }, { kid: 'k9' } as never);
  t.equal(kidOf(forgedKid), 'k9');
  const unknown = await fetch(`${app.baseUrl}/test/me`, { headers: { authorization: `Bearer ${forgedKid}` } });
  t.equal(unknown.status, 401);
  t.match(await unknown.json(), { code: 'unauthorized', message: 'Invalid token' });
  // Signed with k1's secret but claiming k2.
  const wrongKey = app.app.jwt.sign({ sub: 'x', role: 'admin' }, { kid: 'k2' } as never);
  t.equal(await status(app, wrongKey), 401, 'the kid picks the key; a signature of another key fails');
  t.equal(await status(app, app.token('admin', 'ok')), 200);
  await app.close();
});

t.test('config: JWT_KEYS and JWT_SIGNING_KID are checked at start', async (t) => {
  t.same(loadConfig({ JWT_KEYS: `a:${K1}` }).jwtKeys, [{ kid: 'a', secret: K1 }]);
  t.throws(() => loadConfig({ JWT_KEYS: 'a:short' }), /JWT_KEYS secret of key a must be at least 32 characters/);
  t.throws(() => loadConfig({ JWT_KEYS: `${K1}` }), /JWT_KEYS must be `kid:secret` pairs/);
  t.throws(() => loadConfig({ JWT_KEYS: `a:${K1},a:${K2}` }), /JWT_KEYS lists key a twice/);
  t.throws(() => loadConfig({ JWT_KEYS: `a:${K1},b:${K2}` }), /JWT_SIGNING_KID must be set when JWT_KEYS has several keys/);
  t.throws(() => loadConfig({ JWT_KEYS: `a:${K1}`, JWT_SIGNING_KID: 'b' }), /JWT_SIGNING_KID must name a key of JWT_KEYS/);
  t.throws(() => loadConfig({ JWT_SIGNING_KID: 'b' }), /JWT_SIGNING_KID must name a key/);
});

t.test('the real process with JWT_KEYS and no JWT_SECRET (two workers): signs nothing kid-less, verifies by kid', async (t) => {
  const svc = runService(ctx, { JWT_SECRET: '', JWT_KEYS: `k1:${K1},k2:${K2}`, JWT_SIGNING_KID: 'k2', WORKERS: '2' });
  t.teardown(() => {
    if (svc.child.exitCode === null) svc.child.kill('SIGKILL');
  });
  const address = (await svc.waitLog((l) => l.msg === 'dispatchd listening', 60_000)).address!;
  const signer = await appWith({ JWT_KEYS: `k1:${K1}` });
  const get = (token: string) => fetch(`${address}/v1/couriers/nearby?lat=52.5&lng=13.4&radius_m=100`, { headers: { authorization: `Bearer ${token}` } });
  t.equal((await get(signer.token('dispatcher', 'd1'))).status, 200, 'a token of the non-signing key k1 verifies on the workers');
  t.equal((await get(signer.app.jwt.sign({ sub: 'd1', role: 'dispatcher' }, { kid: 'k3' } as never))).status, 401, 'unknown kid: 401');
  await signer.close();
  t.notOk(svc.logs.some((l) => /development secret/.test(String(l.msg))), 'no development secret generated');
  svc.child.kill('SIGTERM');
  t.same(await svc.exited, { code: 0, signal: null });
});
