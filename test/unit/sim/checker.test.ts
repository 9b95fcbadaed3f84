import t from 'tap';
import { checkSolution, checkSolutionDir, type ViolationCode } from '../../../src/sim/mdrp/checker.js';
import type { SolutionTexts } from '../../../src/sim/mdrp/solution.js';
import { tinyInstance, tinySolution, tinySolutionDir } from './support/fixtures.js';

t.test('the hand-made solution of the tiny instance is feasible', async (t) => {
  t.same(checkSolutionDir(tinyInstance(), tinySolutionDir), []);
});

const edit = (file: keyof SolutionTexts, from: string, to: string) => (s: SolutionTexts): SolutionTexts => {
  if (!s[file].includes(from)) throw new Error(`fixture has no "${from}" in ${file}`);
  return { ...s, [file]: s[file].replace(from, to) };
};

/** One broken solution per evaluator check (plus consistency checks); `only` = nothing else may fire. */
const cases: { name: string; code: ViolationCode; only: boolean; solution?: (s: SolutionTexts) => SolutionTexts; instance?: Parameters<typeof tinyInstance>[0] }[] = [
  { name: 'an order in two assignments', code: 'ORDER_IN_SEVERAL_ASSIGNMENTS', only: false, solution: edit('assignments', '20 24 c2 o3', '20 24 c2 o3 o1') },
  { name: 'an assignment before placement', code: 'ASSIGNED_BEFORE_PLACEMENT', only: true, solution: edit('assignments', '30 45 c1 o4', '29 45 c1 o4') },
  { name: 'a pickup after off_time', code: 'PICKUP_AFTER_OFF_TIME', only: true, instance: (f) => ({ couriers: f.couriers.replace('0\t120', '0\t44') }) },
  { name: 'a pickup before the food is ready', code: 'PICKUP_BEFORE_READY', only: false, instance: (f) => ({ orders: f.orders.replace('r2\t20', 'r2\t25') }) },
  { name: 'drop-offs out of sequence', code: 'DROPOFF_OUT_OF_SEQUENCE', only: false, solution: edit('assignments', '2 12 c1 o1 o2', '2 12 c1 o2 o1') },
  { name: 'drop-offs closer than the service time', code: 'DROPOFF_OUT_OF_SEQUENCE', only: false, solution: edit('orders', 'o2 2 12 12 29 c1', 'o2 2 12 12 24 c1') },
  { name: 'a move from the wrong place', code: 'MOVES_DISCONTINUOUS', only: true, solution: edit('couriers', 'c1 31 o2 r2', 'c1 31 o1 r2') },
  { name: 'a departure before arrival', code: 'MOVES_DISCONTINUOUS', only: false, solution: edit('couriers', 'c1 14 r1 o1', 'c1 3 r1 o1') },
  { name: 'a departure before on_time', code: 'MOVES_DISCONTINUOUS', only: false, solution: edit('couriers', 'c2 20 0 r2', 'c2 19 0 r2') },
  {
    name: 'a pickup when the courier has left',
    code: 'NOT_AT_RESTAURANT_AT_PICKUP',
    only: true,
    solution: (s) => edit('orders', 'o2 2 12 12 29', 'o2 2 12 15 29')(edit('orders', 'o1 0 10 12 21', 'o1 0 10 15 21')(edit('assignments', '2 12 c1', '2 15 c1')(s))),
  },
  { name: 'a drop-off while driving', code: 'NOT_AT_CUSTOMER_AT_DROPOFF', only: true, solution: edit('orders', 'o1 0 10 12 21 c1', 'o1 0 10 12 19 c1') },
  { name: 'an unknown order', code: 'UNKNOWN_ID', only: false, solution: edit('assignments', '20 24 c2 o3', '20 24 c2 o3 o99') },
  { name: 'a garbled line', code: 'SOLUTION_MALFORMED', only: false, solution: edit('couriers', 'c2 26 r2 o3', 'c2 soon r2 o3') },
  { name: 'a bundle from two restaurants', code: 'BUNDLE_SPANS_RESTAURANTS', only: false, instance: (f) => ({ orders: f.orders.replace('2\tr1\t12', '2\tr2\t12') }) },
  { name: 'an orders line no assignment matches', code: 'ORDER_LINE_INCONSISTENT', only: false, solution: edit('orders', 'o3 5 20 24 36 c2', 'o3 5 20 24 36 c1') },
];

for (const c of cases) {
  t.test(`catches ${c.name} as ${c.code}`, async (t) => {
    const solution = (c.solution ?? ((s) => s))(tinySolution());
    const violations = checkSolution(tinyInstance(c.instance), solution);
    t.ok(violations.some((v) => v.code === c.code), `expected ${c.code}, got ${JSON.stringify(violations)}`);
    if (c.only) t.same([...new Set(violations.map((v) => v.code))], [c.code], 'and nothing else');
  });
}

t.test('undelivered orders (NaN) are allowed', async (t) => {
  let s = tinySolution();
  s = edit('assignments', '30 45 c1 o4\n', '')(s);
  s = edit('orders', 'o4 30 45 45 55 c1', 'o4 30 45 NaN NaN NaN')(s);
  s = edit('couriers', 'c1 31 o2 r2\nc1 47 r2 o4\n', '')(s);
  t.same(checkSolution(tinyInstance(), s), []);
});
