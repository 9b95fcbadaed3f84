import t from 'tap';
import WebSocket from 'ws';
import { createTestContext, buildTestApp, serviceListening, spawnService, type ServiceLogEntry } from '../support/index.js';
import { WS_GOING_AWAY } from '../../src/app.js';

const ctx = await createTestContext(t);

function wsClosed(ws: WebSocket): Promise<{ code: number; at: number }> {
  return new Promise((resolve) => ws.on('close', (code) => resolve({ code, at: Date.now() })));
}

function opened(ws: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
}

t.test('app.close(): sockets get 1001, then drainers run, in that order', async (t) => {
  const events: string[] = [];
  const testApp = await buildTestApp(ctx, {
    beforeListen(app) {
      app.get('/test/hold', { websocket: true }, (socket) => {
        socket.on('close', () => events.push('socket closed'));
      });
      app.drainers.add('test-drainer', async () => {
        events.push('drainer ran');
        // Dependencies are still open while drainers run.
        events.push(`redis ${await app.redis.ping()}`);
        events.push(`postgres ${(await app.db.query('select 1 as one')).rows[0].one}`);
      });
    },
  });
  const ws = new WebSocket(`${testApp.wsUrl}/test/hold`, { headers: { authorization: `Bearer ${testApp.token('admin', 'a1')}` } });
  await opened(ws);
  const closed = wsClosed(ws);
  await testApp.close();
  t.equal((await closed).code, WS_GOING_AWAY);
  t.same(events, ['socket closed', 'drainer ran', 'redis PONG', 'postgres 1']);
});

t.test('SIGTERM on the real process: courier sockets get 1001, acked points are flushed, exit 0', async (t) => {
  const child = spawnService(ctx);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const logs: ServiceLogEntry[] = [];
  const address = await serviceListening(child, logs);

  t.equal((await fetch(`${address}/healthz`)).status, 200);
  const token = (await buildTestApp(ctx)).token('courier', 'c-shutdown');
  const ws = new WebSocket(`${address.replace('http', 'ws')}/v1/courier?token=${token}`);
  await opened(ws);
  const closed = wsClosed(ws);
  // the socket may push its (empty) task list first: wait for the answer to the point
  const firstReply = new Promise<string>((resolve) => {
    const onMessage = (m: unknown) => {
      const text = String(m);
      if ((JSON.parse(text) as { type?: string }).type === 'task') return;
      ws.off('message', onMessage);
      resolve(text);
    };
    ws.on('message', onMessage);
  });
  ws.send(JSON.stringify({ type: 'loc', seq: 1, ts: Date.now(), lat: 52.52, lng: 13.405, acc: 5 }));
  t.match(JSON.parse(await firstReply), { seq: 1 }, 'the point was acked');

  const signalledAt = Date.now();
  child.kill('SIGTERM');
  const close = await closed;
  t.equal(close.code, WS_GOING_AWAY, 'courier socket closed with 1001');
  const exit = await exited;
  t.same(exit, { code: 0, signal: null }, 'exit code 0');
  t.ok(Date.now() - signalledAt < 8000, 'well within SHUTDOWN_TIMEOUT_MS');
  const messages = logs.map((l) => l.msg);
  t.ok(messages.includes('shutting down') && messages.includes('stopped'), 'logged the shutdown');
  t.notOk(messages.includes('shutdown timed out: exiting'));

  const stored = await ctx.db.query(`select count(*)::int as n from courier_positions where courier_id = 'c-shutdown'`);
  t.equal(stored.rows[0].n, 1, 'the acked point reached Postgres before exit (history drained)');
  await t.rejects(fetch(`${address}/healthz`), 'no longer listening');
});

t.test('a start that fails (Redis unreachable) is reported once, as a fatal log record naming the reason, exit 1', async (t) => {
  const { freePort } = await import('../../src/store/embedded/process.js');
  const deadRedis = `redis://127.0.0.1:${await freePort()}`;
  const child = spawnService(ctx, { REDIS_URL: deadRedis });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  t.equal(code, 1);
  const fatal = stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string; err?: { message?: string } })
    .filter((r) => r.level === 60);
  t.equal(fatal.length, 1, 'one fatal record');
  t.match(fatal[0]?.msg, /^dispatchd could not start: Redis at .* is unreachable/);
  t.match(fatal[0]?.err?.message, /unreachable/, 'the error itself is logged');
  t.notMatch(stderr, /unreachable/, 'no second copy on stderr');
});
