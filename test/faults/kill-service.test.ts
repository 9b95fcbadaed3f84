/**
 * kill -9 of the service mid-ingest (one process; one worker of two), then restart: every point the
 * service acked is in courier_positions exactly once. Acked means written to the Redis stream; the
 * killed process's unacknowledged stream entries are re-read by its successor (same consumer name for
 * a worker slot) or claimed after HISTORY_CLAIM_IDLE_MS (a new process).
 */
import t from 'tap';
import { Fleet, historyCaughtUp } from './fleet.js';
import { faultEnv, freePort, kill9, startDispatchd } from './harness.js';

// Four service starts (one with two workers): more than tap's default per-file timeout on a busy machine.
t.setTimeout(240_000);

const SERVICE_ENV = { HISTORY_CLAIM_IDLE_MS: '1000', DISPATCH: 'off' };

t.test('WORKERS=1: kill -9 mid-ingest, restart; every acked point stored exactly once', async (t) => {
  const env = await faultEnv(t);
  const port = await freePort();
  let svc = await startDispatchd(env, port, SERVICE_ENV);
  const prefix = 'kill1-';
  const fleet = new Fleet({ wsUrl: svc.wsUrl, prefix, count: 8, token: (id) => env.token('courier', id) });
  t.teardown(() => fleet.stop());
  await fleet.start();
  await fleet.ackedAtLeast(1000);
  const ackedBeforeKill = fleet.ackedCount();
  t.ok(ackedBeforeKill > 0, `acked before the kill: ${ackedBeforeKill}`);

  await kill9(svc);
  svc = await startDispatchd(env, port, SERVICE_ENV);
  await fleet.allConnected(15_000);
  t.ok(await fleet.acksResume(), 'the restarted service acks the reconnected couriers');
  fleet.stop();

  const check = await historyCaughtUp(env.ctx.db, fleet, prefix);
  t.ok(check.acked > ackedBeforeKill, `points acked in all: ${check.acked}`);
  t.same(check.missing.slice(0, 5), [], `no acked point missing (${check.missing.length} missing)`);
  t.equal(check.duplicates, 0, 'no point stored twice');
  t.same(Object.fromEntries(fleet.rejections), {}, 'the fleet’s points were all accepted');

  svc.child.kill('SIGTERM');
  t.same(await svc.exited, { code: 0, signal: null });
});

t.test('WORKERS=2: kill -9 one worker mid-ingest; it is replaced; every acked point stored exactly once', async (t) => {
  const env = await faultEnv(t);
  const port = await freePort();
  const svc = await startDispatchd(env, port, { ...SERVICE_ENV, WORKERS: '2' });
  const prefix = 'kill2-';
  const fleet = new Fleet({ wsUrl: svc.wsUrl, prefix, count: 8, token: (id) => env.token('courier', id) });
  t.teardown(() => fleet.stop());
  await fleet.start();
  await fleet.ackedAtLeast(1000);

  const victim = svc.listening.pids![0];
  const closesBefore = fleet.closes.length;
  process.kill(victim, 'SIGKILL');
  await svc.waitLog((l) => l.msg === 'service worker exited' && l.pid === victim);
  await svc.waitLog((l) => l.msg === 'service worker listening' && l.pid !== undefined && !svc.listening.pids!.includes(l.pid));
  t.ok(fleet.closes.length > closesBefore, `the killed worker's couriers were disconnected (${fleet.closes.length - closesBefore})`);
  await fleet.allConnected(15_000);
  t.ok(await fleet.acksResume(), 'acks go on after the worker was replaced');
  fleet.stop();

  const check = await historyCaughtUp(env.ctx.db, fleet, prefix);
  t.ok(check.acked > 0, `points acked in all: ${check.acked}`);
  t.same(check.missing.slice(0, 5), [], `no acked point missing (${check.missing.length} missing)`);
  t.equal(check.duplicates, 0, 'no point stored twice');
  t.same(Object.fromEntries(fleet.rejections), {}, 'the fleet’s points were all accepted');

  svc.child.kill('SIGTERM');
  t.same(await svc.exited, { code: 0, signal: null });
});
