/**
 * Golden file: a fixed round (test/fixtures/dispatch/golden-input.json) must give exactly the plan in
 * golden-plan.json. A change in the optimizer's decisions shows up here as a readable diff; when it is
 * intended, regenerate with `UPDATE_GOLDEN=1 npx tap test/unit/dispatch/golden.test.ts` and review the diff.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import t from 'tap';
import { planRound } from '../../../src/dispatch/plan-round.js';
import { defaultPolicy } from '../../../src/dispatch/policy.js';
import { planarTravelModel } from '../../../src/dispatch/travel.js';
import type { CourierState, OrderRequest, PlanarPoint, Snapshot } from '../../../src/dispatch/types.js';

const dir = new URL('../../fixtures/dispatch/', import.meta.url);

interface GoldenInput {
  readonly metersPerMinute: number;
  readonly now: number;
  readonly service: { pickupS: number; dropoffS: number };
  readonly pay: { perOrder: number; guaranteedPerHour: number };
  readonly orders: OrderRequest<PlanarPoint>[];
  readonly couriers: CourierState<PlanarPoint>[];
}

t.test('fixed round → expected plan', async (t) => {
  const input = JSON.parse(readFileSync(new URL('golden-input.json', dir), 'utf8')) as GoldenInput;
  const snapshot: Snapshot<PlanarPoint> = {
    now: input.now,
    orders: input.orders,
    couriers: input.couriers,
    travel: planarTravelModel(input.metersPerMinute),
    service: input.service,
    pay: input.pay,
    seed: 1,
  };
  // A generous budget so the improvement phase always completes: the plan must not depend on speed.
  const plan = planRound(snapshot, { ...defaultPolicy, maxMs: 60_000 });
  const actual = JSON.parse(JSON.stringify({ ...plan, summary: { ...plan.summary, solveMs: 0 } }));
  const expectedFile = new URL('golden-plan.json', dir);
  if (process.env.UPDATE_GOLDEN) writeFileSync(expectedFile, JSON.stringify(actual, null, 2) + '\n');
  const expected = JSON.parse(readFileSync(expectedFile, 'utf8'));
  t.same(actual, expected);
  t.ok(plan.assignments.length > 0 && plan.unassigned.length > 0, 'the fixture exercises both outcomes');
  t.ok(plan.assignments.some((a) => a.orderIds.length > 1), 'and a bundle');
});
