/**
 * WORKERS > 1 on the real process: the primary supervises cluster workers that share one port.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname } from 'node:os';
import t from 'tap';
import WebSocket from 'ws';
import { createTestContext, buildTestApp, runService, type RunningService } from '../support/index.js';
import { WS_GOING_AWAY } from '../../src/app.js';

const ctx = await createTestContext(t);

function startService(env: Record<string, string>): RunningService {
  return runService(ctx, env);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function childrenOf(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
}

function opened(ws: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
}

t.test('WORKERS=2: two workers share the port, every courier is served, a dead worker is replaced, SIGTERM stops all', async (t) => {
  const svc = startService({ WORKERS: '2' });
  t.teardown(() => {
    if (svc.child.exitCode === null) svc.child.kill('SIGKILL');
  });
  const listening = await svc.waitLog((l) => l.msg === 'dispatchd listening');
  const address = listening.address!;
  t.equal(listening.pids?.length, 2, 'two worker pids reported');
  t.same(childrenOf(svc.child.pid!).sort(), [...listening.pids!].sort(), 'the workers are the primary’s children');
  t.equal((await fetch(`${address}/readyz`)).status, 200);

  // Round-robin hands connections to both workers; every courier's points are acked and stored.
  const app = await buildTestApp(ctx);
  const couriers = Array.from({ length: 6 }, (_, i) => `c-workers-${i}`);
  const sockets = couriers.map((id) => new WebSocket(`${address.replace('http', 'ws')}/v1/courier?token=${app.token('courier', id)}`));
  await Promise.all(sockets.map(opened));
  const acks = await Promise.all(
    sockets.map(
      (ws, i) =>
        new Promise<{ seq: number }>((resolve) => {
          // Other frames (the courier's current task) may come first.
          const onMessage = (m: WebSocket.RawData) => {
            const frame = JSON.parse(m.toString()) as { type: string; seq: number };
            if (frame.type !== 'ack') return;
            ws.off('message', onMessage);
            resolve(frame);
          };
          ws.on('message', onMessage);
          ws.send(JSON.stringify({ type: 'loc', seq: 7, ts: Date.now(), lat: 52.52 + i * 0.001, lng: 13.405, acc: 5 }));
        }),
    ),
  );
  t.same(
    acks.map((a) => a.seq),
    couriers.map(() => 7),
    'every courier got its ack',
  );
  const served = new Set(
    svc.logs.filter((l) => l.msg === 'incoming request' && (l as { req?: { url?: string } }).req?.url?.startsWith('/v1/courier')).map((l) => l.worker),
  );
  t.same([...served].sort(), [1, 2], 'the courier sockets were spread over both workers');

  // A worker killed outright is replaced; the service keeps answering meanwhile and after.
  const victim = listening.pids![0];
  process.kill(victim, 'SIGKILL');
  await svc.waitLog((l) => l.msg === 'service worker exited' && l.pid === victim);
  t.equal((await fetch(`${address}/healthz`)).status, 200, 'the other worker still answers');
  const replacement = await svc.waitLog((l) => l.msg === 'service worker started' && l.pid !== undefined && !listening.pids!.includes(l.pid));
  const replaced = await svc.waitLog((l) => l.msg === 'service worker listening' && l.pid === replacement.pid);
  t.equal(replaced.address, address, 'the replacement listens on the same port (PORT=0 included)');
  t.equal(childrenOf(svc.child.pid!).length, 2, 'back to two workers');
  // New connections reach the replacement too.
  const before = svc.logs.filter((l) => l.pid === replacement.pid && l.msg === 'incoming request').length;
  for (let i = 0; i < 4; i++) t.equal((await fetch(`${address}/healthz`, { headers: { connection: 'close' } })).status, 200);
  t.ok(svc.logs.filter((l) => l.pid === replacement.pid && l.msg === 'incoming request').length > before, 'the replacement serves requests');

  // Stream consumers are per worker slot: the replacement took over its predecessor's name (and pending list).
  const consumers = (await ctx.redis.call('XINFO', 'CONSUMERS', `${ctx.keyPrefix}loc:stream`, 'history')) as unknown[][];
  const ownApp = `${hostname()}-${process.pid}`; // this test's in-process app (token minting) has a sink too
  t.same(
    consumers.map((c) => String(c[1])).filter((name) => name !== ownApp).sort(),
    [`${hostname()}-w1`, `${hostname()}-w2`],
    'one history consumer per slot',
  );

  const closes = sockets.filter((ws) => ws.readyState === WebSocket.OPEN).map((ws) => new Promise<number>((resolve) => ws.once('close', resolve)));
  svc.child.kill('SIGTERM');
  t.same(await svc.exited, { code: 0, signal: null }, 'exit 0');
  t.ok((await Promise.all(closes)).every((code) => code === WS_GOING_AWAY), 'open courier sockets closed with 1001');
  for (const pid of [...listening.pids!, replacement.pid!]) t.notOk(isAlive(pid), `worker ${pid} is gone`);
  const stored = await ctx.db.query<{ n: number }>(`select count(distinct courier_id)::int as n from courier_positions where courier_id like 'c-workers-%'`);
  t.equal(stored.rows[0].n, couriers.length, 'every courier’s acked point is in Postgres');
  t.equal(svc.logs.filter((l) => l.reason === 'primary asked').length, 2, 'both live workers shut down gracefully when the primary asked');
});

t.test('WORKERS=2 on a port already taken: the workers cannot listen, the primary exits 1 with one fatal record', async (t) => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => blocker.close());
  const port = (blocker.address() as { port: number }).port;
  const svc = startService({ WORKERS: '2', PORT: String(port) });
  t.teardown(() => {
    if (svc.child.exitCode === null) svc.child.kill('SIGKILL');
  });
  t.same(await svc.exited, { code: 1, signal: null });
  const fatal = svc.logs.filter((l) => l.level === 60 && l.worker === undefined);
  t.equal(fatal.length, 1, 'one fatal record from the primary');
  t.match(fatal[0]?.msg, /^dispatchd could not start: a service worker exited/);
  t.ok(
    svc.logs.some((l) => l.worker !== undefined && /EADDRINUSE|address already in use/i.test(JSON.stringify(l))),
    'the worker’s own log says why',
  );
});
