/**
 * SIGTERM while couriers stream points: every socket is closed with 1001, the process exits 0 within
 * SHUTDOWN_TIMEOUT_MS, and every point it acked is already in courier_positions when it has exited
 * (the history sink's final flush is part of the shutdown).
 */
import t from 'tap';
import { WS_GOING_AWAY } from '../../src/app.js';
import { checkHistory, Fleet } from './fleet.js';
import { faultEnv, freePort, startDispatchd } from './harness.js';

const SHUTDOWN_TIMEOUT_MS = 8000;

t.test('SIGTERM under load: 1001 closes, every acked point stored before exit, exit 0 in time', async (t) => {
  const env = await faultEnv(t);
  const svc = await startDispatchd(env, await freePort(), { SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS), DISPATCH: 'off' });
  const prefix = 'term-';
  const fleet = new Fleet({ wsUrl: svc.wsUrl, prefix, count: 12, token: (id) => env.token('courier', id), reconnect: false });
  t.teardown(() => fleet.stop());
  await fleet.start();
  await fleet.ackedAtLeast(1500);

  const signalled = Date.now();
  svc.child.kill('SIGTERM');
  const exit = await svc.exited;
  const tookMs = Date.now() - signalled;
  fleet.stop(true);
  t.same(exit, { code: 0, signal: null }, 'exit 0');
  t.ok(tookMs < SHUTDOWN_TIMEOUT_MS, `exited within SHUTDOWN_TIMEOUT_MS (${tookMs} ms)`);
  t.equal(fleet.closes.length, fleet.couriers.length, 'every courier socket was closed');
  t.same([...new Set(fleet.closes)], [WS_GOING_AWAY], 'all with 1001 going away');

  // Nothing runs any more: what is not stored now never will be.
  const check = await checkHistory(env.ctx.db, fleet, prefix);
  t.ok(check.acked > 0, `points acked: ${check.acked}`);
  t.same(check.missing.slice(0, 5), [], `no acked point missing (${check.missing.length} missing)`);
  t.equal(check.duplicates, 0, 'no point stored twice');
  t.same(Object.fromEntries(fleet.errors), {}, 'no error frames');
  t.notOk(svc.logs.some((l) => l.msg === 'shutdown timed out: exiting'));
});
