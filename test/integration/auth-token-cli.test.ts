import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import t from 'tap';
import WebSocket from 'ws';
import { createLogger } from '../../src/logger.js';
import { createTestContext, buildTestApp } from '../support/index.js';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;
const ctx = await createTestContext(t);

async function tokenCli(args: string[], env: Record<string, string>) {
  const cleanEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  if (!('JWT_SECRET' in env)) delete cleanEnv.JWT_SECRET;
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'src/cli/token.ts', ...args], { cwd: root, env: cleanEnv });
    return { code: 0, stdout: stdout.trim(), stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout.trim(), stderr: e.stderr };
  }
}

t.test('npm run token mints a token the service accepts, with that role and subject', async (t) => {
  const { baseUrl } = await buildTestApp(ctx, {
    beforeListen(app) {
      app.get('/test/whoami', async (request) => request.user);
    },
  });
  const out = await tokenCli(['--role', 'courier', '--sub', 'c42', '--ttl', '10m'], { JWT_SECRET: ctx.config.jwtSecret! });
  t.equal(out.code, 0, out.stderr);
  t.match(out.stdout, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'only the token on stdout');
  const res = await fetch(`${baseUrl}/test/whoami`, { headers: { authorization: `Bearer ${out.stdout}` } });
  t.equal(res.status, 200);
  t.same(await res.json(), { sub: 'c42', role: 'courier' });
  const payload = JSON.parse(Buffer.from(out.stdout.split('.')[1], 'base64url').toString());
  t.equal(payload.exp - payload.iat, 600, '--ttl 10m');
});

t.test('bad arguments exit 2 with a usage message and print no token', async (t) => {
  for (const args of [['--role', 'root', '--sub', 'x'], ['--role', 'admin'], ['--role', 'admin', '--sub', 'x', '--ttl', 'soon'], ['--bogus']]) {
    const out = await tokenCli(args, { JWT_SECRET: ctx.config.jwtSecret! });
    t.equal(out.code, 2, args.join(' '));
    t.equal(out.stdout, '');
    t.match(out.stderr, /usage|--ttl/);
  }
});

t.test('without JWT_SECRET a development secret is generated once in DATA_DIR and reused', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'dispatchd-secret-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const first = await tokenCli(['--role', 'admin', '--sub', 'a1'], { DATA_DIR: dataDir });
  t.equal(first.code, 0, first.stderr);
  t.match(first.stderr, /JWT_SECRET not set/);
  const secretFile = join(dataDir, 'jwt-secret');
  t.equal((await stat(secretFile)).mode & 0o777, 0o600, 'secret file readable by its owner only');
  const secret = (await readFile(secretFile, 'utf8')).trim();
  t.ok(secret.length >= 32);

  const second = await tokenCli(['--role', 'admin', '--sub', 'a1'], { DATA_DIR: dataDir });
  t.equal((await readFile(secretFile, 'utf8')).trim(), secret, 'not regenerated');
  // A service using that secret accepts both tokens.
  const { baseUrl } = await buildTestApp(ctx, { config: { jwtSecret: secret } });
  for (const tok of [first.stdout, second.stdout]) {
    t.equal((await fetch(`${baseUrl}/nope`, { headers: { authorization: `Bearer ${tok}` } })).status, 404, 'authenticated (404, not 401)');
  }
});

t.test('tokens never reach the logs (Authorization header, ?token= on WebSocket URLs)', async (t) => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const log = createLogger({ level: 'trace', destination: sink });
  const { baseUrl, wsUrl, token } = await buildTestApp(ctx, {
    log,
    beforeListen(app) {
      app.get('/test/ws', { websocket: true }, (socket) => socket.close(1000));
    },
  });
  const httpToken = token('admin', 'a1');
  await fetch(`${baseUrl}/healthz`, { headers: { authorization: `Bearer ${httpToken}` } });
  await fetch(`${baseUrl}/nope`, { headers: { authorization: `Bearer ${httpToken}` } });
  const wsToken = token('courier', 'c1');
  const ws = new WebSocket(`${wsUrl}/test/ws?token=${wsToken}`);
  await new Promise((resolve) => ws.on('close', resolve));
  const refused = new WebSocket(`${wsUrl}/test/ws?token=${wsToken}x`);
  await new Promise((resolve) => refused.on('close', resolve));

  const all = lines.join('');
  t.ok(all.includes('/test/ws?token=[redacted]'), 'WS URL logged with the token redacted');
  t.notOk(all.includes(wsToken), 'no WS token in logs');
  t.notOk(all.includes(httpToken), 'no HTTP token in logs');
});
