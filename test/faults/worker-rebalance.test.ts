/**
 * WORKERS=2: kill -9 one worker while couriers stream points. Its couriers reconnect to the survivor (the
 * only worker listening), the primary replaces the dead one, and then the courier sockets spread out
 * again: the survivor asks its excess to reconnect (close 1012) over WORKER_REBALANCE_SPREAD_MS and refuses
 * new courier sockets (1013) while at its share, so the reconnects land on the replacement
 * (src/gateway/ws/rebalance.ts). Every acked point is stored exactly once throughout.
 */
import t from 'tap';
import { Fleet, historyCaughtUp } from './fleet.js';
import { faultEnv, freePort, startDispatchd } from './harness.js';

t.setTimeout(240_000);

const COURIERS = 24;
const SPREAD_MS = 3000;

interface WorkerSockets {
  pid: number;
  slot: number;
  sockets: number | null;
}

t.test('WORKERS=2: a worker killed and replaced; the courier sockets rebalance; every acked point stored exactly once', async (t) => {
  const env = await faultEnv(t);
  const port = await freePort();
  const svc = await startDispatchd(env, port, { HISTORY_CLAIM_IDLE_MS: '1000', DISPATCH: 'off', WORKERS: '2', WORKER_REBALANCE_SPREAD_MS: String(SPREAD_MS) });
  // A wait that fails says where the service stood: its last log lines go into the error.
  const waitLog = async (what: Parameters<typeof svc.waitLog>[0], timeoutMs?: number) => {
    try {
      return await svc.waitLog(what, timeoutMs);
    } catch (err) {
      const tail = svc.logs.filter((l) => l.msg !== 'incoming request' && l.msg !== 'request completed').slice(-30);
      throw new Error(`${(err as Error).message}\nlast log lines:\n${tail.map((l) => JSON.stringify(l)).join('\n')}`);
    }
  };
  const prefix = 'rebal-';
  const fleet = new Fleet({ wsUrl: svc.wsUrl, prefix, count: COURIERS, token: (id) => env.token('courier', id) });
  t.teardown(() => fleet.stop());
  await fleet.start();
  await fleet.ackedAtLeast(3000, 30_000);

  const [victim, survivor] = svc.listening.pids!;
  const closesBefore = fleet.closes.length;
  process.kill(victim, 'SIGKILL');
  await waitLog((l) => l.msg === 'service worker exited' && l.pid === victim);
  const replaced = await waitLog((l) => l.msg === 'worker replaced: rebalancing courier sockets', 120_000);
  const onVictim = fleet.closes.length - closesBefore;
  t.ok(onVictim > 0 && onVictim < COURIERS, `the killed worker held ${onVictim} of the ${COURIERS} sockets (split ${COURIERS - onVictim}/${onVictim})`);

  const before = replaced.sockets as WorkerSockets[];
  const replacement = before.find((w) => w.pid !== survivor)!;
  t.ok(replacement && replacement.pid !== victim, `the replacement (pid ${replacement?.pid}) is a new worker`);
  t.same(
    before.map((w) => [w.pid === survivor ? 'survivor' : 'replacement', w.sockets]).sort(),
    [
      ['replacement', 0],
      ['survivor', COURIERS],
    ],
    `before rebalancing every courier is on the survivor (${before.map((w) => w.sockets).join('/')})`,
  );
  t.equal(replaced.fairShare, COURIERS / 2, 'fair share: half each');

  const after = (await waitLog((l) => l.msg === 'courier sockets after rebalancing', SPREAD_MS + 20_000)).sockets as WorkerSockets[];
  t.same(
    after.map((w) => [w.pid === survivor ? 'survivor' : 'replacement', w.sockets]).sort(),
    [
      ['replacement', COURIERS / 2],
      ['survivor', COURIERS / 2],
    ],
    `after rebalancing the sockets are even (${after.map((w) => w.sockets).join('/')})`,
  );
  const asked = fleet.closes.filter((c) => c === 1012).length;
  t.equal(asked, COURIERS / 2, `the survivor asked exactly its excess to reconnect with 1012 (${asked})`);
  t.comment(`courier upgrades refused with 1013 while rebalancing: ${fleet.closes.filter((c) => c === 1013).length}`);
  await fleet.allConnected(15_000);
  t.ok(await fleet.acksResume(), 'acks go on after the rebalancing');
  fleet.stop();

  const check = await historyCaughtUp(env.ctx.db, fleet, prefix);
  t.ok(check.acked > 0, `points acked in all: ${check.acked}`);
  t.same(check.missing.slice(0, 5), [], `no acked point missing (${check.missing.length} missing)`);
  t.equal(check.duplicates, 0, 'no point stored twice');
  t.same(Object.fromEntries(fleet.rejections), {}, 'the fleet’s points were all accepted');
  t.same(Object.fromEntries(fleet.errors), {}, 'no error frames');

  svc.child.kill('SIGTERM');
  t.same(await svc.exited, { code: 0, signal: null });
});
