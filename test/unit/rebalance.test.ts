/**
 * The worker side of the courier socket rebalancing (src/gateway/ws/rebalance.ts): a worker above its
 * fair share closes exactly the excess with 1012, spread over the spread time, and refuses new courier
 * sockets (1013) while at or above its share during that time; one within its share does nothing.
 */
import t from 'tap';
import { fairShare, HOLD_GRACE_MS, SocketRebalancer, WS_SERVICE_RESTART, type RebalanceTarget } from '../../src/gateway/ws/rebalance.js';

const quiet = { info() {} };

function sockets(n: number): RebalanceTarget & { open: number; closes: { code: number; at: number }[] } {
  const started = Date.now();
  const target = {
    open: n,
    closes: [] as { code: number; at: number }[],
    count: () => target.open,
    closeOne(code: number) {
      if (target.open === 0) return false;
      target.open--;
      target.closes.push({ code, at: Date.now() - started });
      return true;
    },
  };
  return target;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('fair share is the ceiling of total / workers', async (t) => {
  t.equal(fairShare(24, 2), 12);
  t.equal(fairShare(25, 2), 13);
  t.equal(fairShare(7, 3), 3);
  t.equal(fairShare(0, 2), 0);
});

t.test('24 sockets, 2 workers: 12 closed with 1012, spread over the spread time; upgrades refused meanwhile', async (t) => {
  const target = sockets(24);
  let now = 0;
  const r = new SocketRebalancer(target, { spreadMs: 240, log: quiet, now: () => now });
  t.notOk(r.refuse(), 'nothing refused before a rebalance');
  t.equal(r.rebalance(24, 2), 12, 'plans to close the excess');
  t.ok(r.refuse(), 'a new courier socket is refused while above the share');
  await sleep(600);
  t.equal(target.open, 12, 'down to its fair share');
  t.equal(target.closes.length, 12, 'exactly the excess closed');
  t.ok(target.closes.every((c) => c.code === WS_SERVICE_RESTART), 'with 1012 (service restart: reconnect)');
  const spanMs = target.closes.at(-1)!.at - target.closes[0].at;
  t.ok(spanMs >= 150, `the closes are spread out, not a burst (${spanMs} ms from first to last)`);
  t.equal(r.stats.closed, 12);
  t.ok(r.refuse(), 'at its share during the hold: still refused (a reconnect must go elsewhere)');
  target.open = 11;
  t.notOk(r.refuse(), 'below its share: accepted');
  target.open = 12;
  now = 240 + HOLD_GRACE_MS;
  t.notOk(r.refuse(), 'after the hold: accepted again');
  t.equal(r.stats.refused, 2, 'refusals counted');
});

t.test('sockets that leave on their own count towards the excess', async (t) => {
  const target = sockets(20);
  const r = new SocketRebalancer(target, { spreadMs: 200, log: quiet });
  r.rebalance(20, 2);
  target.open -= 6; // six couriers went away meanwhile
  await sleep(400);
  t.equal(target.open, 10, 'stops at the share');
  t.ok(r.stats.closed <= 4, `closed only what was still above it (${r.stats.closed})`);
  r.stop();
});

t.test('within its share, or rebalancing off (spread 0): nothing closed, nothing refused', async (t) => {
  const within = sockets(0);
  const r1 = new SocketRebalancer(within, { spreadMs: 100, log: quiet });
  t.equal(r1.rebalance(24, 2), 0);
  t.notOk(r1.refuse());
  const off = sockets(24);
  const r2 = new SocketRebalancer(off, { spreadMs: 0, log: quiet });
  t.equal(r2.rebalance(24, 2), 0);
  await sleep(50);
  t.equal(off.open, 24);
  t.notOk(r2.refuse());
});

t.test('stop() cancels the planned closes and the hold', async (t) => {
  const target = sockets(30);
  const r = new SocketRebalancer(target, { spreadMs: 1000, log: quiet });
  r.rebalance(30, 3);
  await sleep(20);
  r.stop();
  const closed = target.closes.length;
  await sleep(300);
  t.equal(target.closes.length, closed, 'no close after stop');
  t.notOk(r.refuse(), 'no refusal after stop');
});
