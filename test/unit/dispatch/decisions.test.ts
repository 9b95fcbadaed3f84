/**
 * roundDecisions: one decision per order of the snapshot; assigned ones with courier, ETAs in epoch ms,
 * stops, cost and runner-up; waiting ones with the plan's reason and the courier that could reach the
 * pickup first; a planned assignment whose commit failed is waiting with `commit_conflict`.
 */
import t from 'tap';
import { roundDecisions } from '../../../src/dispatch/decisions.js';
import { planRound } from '../../../src/dispatch/plan-round.js';
import { defaultPolicy } from '../../../src/dispatch/policy.js';
import { courier, order, snapshot } from './helpers.js';

const r = { x: 0, y: 0 };
const home = { x: 3200, y: 0 };

t.test('assigned and waiting orders, each with what the plan said', async (t) => {
  const s = snapshot(
    [
      order('now', 'r', r, home, 0),
      order('later', 'r', r, home, 7200),
      order('declined', 'r2', { x: 50_000, y: 0 }, home, 0, { declinedBy: ['a', 'b', 'busy'] }),
    ],
    [courier('a', { x: 320, y: 0 }), courier('b', { x: 3200, y: 0 }), courier('busy', { x: 640, y: 0 }, { freeAt: 600, status: 'busy' })],
  );
  const plan = planRound(s, defaultPolicy);
  const decisions = roundDecisions(s, plan, { zone: 'z1', at: 5_000 });
  t.same(decisions.map((d) => d.orderId), ['declined', 'later', 'now'], 'one per order, by id');
  const byId = Object.fromEntries(decisions.map((d) => [d.orderId, d]));

  const a = plan.assignments.find((x) => x.orderIds.includes('now'))!;
  const now = byId.now;
  t.match(now, { decision: 'assigned', zone: 'z1', at: 5_000, courierId: a.courierId, pinned: false });
  t.equal(now.etaPickupAt, a.stops[0].serviceAt * 1000, 'pickup eta from the plan, in ms');
  t.equal(now.etaDropoffAt, a.stops[1].serviceAt * 1000);
  t.same(now.stops, [
    { orderId: 'now', kind: 'pickup', at: a.stops[0].serviceAt * 1000 },
    { orderId: 'now', kind: 'dropoff', at: a.stops[1].serviceAt * 1000 },
  ]);
  t.equal(now.cost!.total, a.cost.total);
  t.equal(now.runnerUp!.courierId, a.runnerUp!.courierId);
  t.equal(now.runnerUp!.costDelta, a.runnerUp!.total - a.cost.total);
  t.ok(now.runnerUp!.etaPickupAt! >= now.etaPickupAt!, 'the runner-up is not at the pickup earlier here');

  const reasonOf = Object.fromEntries(plan.unassigned.map((u) => [u.orderId, u.reason]));
  t.match(byId.later, { decision: 'waiting', reason: reasonOf.later });
  t.equal(byId.later.reason, 'not_ready_soon_enough');
  t.ok(byId.later.nearest?.courierId, 'the nearest courier is named');
  t.match(byId.declined, { decision: 'waiting', reason: 'all_couriers_declined' });
  t.equal(byId.declined.nearest, undefined, 'every courier declined it: nobody is nearest');
});

t.test('the nearest courier of a waiting order may be busy: it says when it frees up', async (t) => {
  const s = snapshot([order('far', 'r', r, home, 7200)], [courier('busy', { x: 100, y: 0 }, { freeAt: 600, status: 'busy' }), courier('free', { x: 20_000, y: 0 })]);
  const [d] = roundDecisions(s, planRound(s, defaultPolicy), { zone: 'z', at: 0 });
  t.same(d.nearest, { courierId: 'busy', etaPickupAt: (600 + s.travel.seconds({ x: 100, y: 0 }, r)) * 1000, freesAt: 600_000 });
});

t.test('an assignment whose commit failed is recorded as waiting: commit_conflict', async (t) => {
  const s = snapshot([order('o', 'r', r, home, 0)], [courier('a', { x: 320, y: 0 })]);
  const [d] = roundDecisions(s, planRound(s, defaultPolicy), { zone: 'z', at: 0, notCommitted: new Set(['o']) });
  t.match(d, { orderId: 'o', decision: 'waiting', reason: 'commit_conflict', courierId: 'a' });
});
