import t, { type Test } from 'tap';
import { solveAssignment, sparseFromDense, sparseFromRows } from '../../../src/dispatch/assignment.js';
import { rng } from './helpers.js';

/** Exhaustive optimum: every row takes a free allowed column or stays out at its cost. */
function bruteForce(cost: number[][], unassigned: number[], cols: number): number {
  const used = new Array<boolean>(cols).fill(false);
  let best = Infinity;
  const visit = (r: number, acc: number): void => {
    if (r === cost.length) {
      best = Math.min(best, acc);
      return;
    }
    visit(r + 1, acc + unassigned[r]);
    for (let c = 0; c < cols; c++) {
      if (used[c] || !Number.isFinite(cost[r][c])) continue;
      used[c] = true;
      visit(r + 1, acc + cost[r][c]);
      used[c] = false;
    }
  };
  visit(0, 0);
  return best;
}

function checkResult(t: Test, cost: number[][], unassigned: number[], cols: number, rowToCol: Int32Array, total: number): void {
  const seen = new Set<number>();
  let recomputed = 0;
  rowToCol.forEach((c, r) => {
    if (c < 0) {
      recomputed += unassigned[r];
      return;
    }
    t.ok(Number.isFinite(cost[r][c]), `row ${r} uses an allowed column`);
    t.notOk(seen.has(c), `column ${c} used once`);
    seen.add(c);
    recomputed += cost[r][c];
  });
  t.ok(Math.abs(recomputed - total) < 1e-6, 'reported total matches the assignment');
}

t.test('matches brute force on random rectangular cases with forbidden pairs', async (t) => {
  const rand = rng(42);
  let mismatches = 0;
  for (let it = 0; it < 400; it++) {
    const rows = 1 + Math.floor(rand() * 6);
    const cols = 1 + Math.floor(rand() * 6);
    const cost = Array.from({ length: rows }, () =>
      Array.from({ length: cols }, () => (rand() < 0.3 ? Infinity : Math.round(rand() * 1000) / 10 - 20)),
    );
    // Mix "must serve" rows (huge cost to leave out) with cheap-to-skip ones.
    const unassigned = Array.from({ length: rows }, () => (rand() < 0.5 ? 1e6 : Math.round(rand() * 120)));
    const { rowToCol, total } = solveAssignment(sparseFromDense(cost, cols), unassigned);
    const best = bruteForce(cost, unassigned, cols);
    if (Math.abs(total - best) > 1e-6) mismatches++;
    if (it < 40) checkResult(t, cost, unassigned, cols, rowToCol, total);
  }
  t.equal(mismatches, 0, 'optimal on all 400 cases');
});

t.test('maximises assigned rows first when leaving out is expensive', async (t) => {
  // Greedy would give column 0 to row 0 (cost 1) and strand row 1, whose only column is 0.
  const cost = [
    [1, 2],
    [3, Infinity],
  ];
  const { rowToCol, total } = solveAssignment(sparseFromDense(cost), [1e6, 1e6]);
  t.same([...rowToCol], [1, 0]);
  t.equal(total, 5);
});

t.test('more rows than columns: the cheapest to skip stays out', async (t) => {
  const cost = [[5], [4], [6]];
  const { rowToCol } = solveAssignment(sparseFromDense(cost), [100, 50, 200]);
  t.same([...rowToCol], [-1, -1, 0], 'row 2 (costliest to skip) gets the column');
});

t.test('a row is left out when that is cheaper than any allowed column', async (t) => {
  const { rowToCol, total } = solveAssignment(sparseFromDense([[50, 60]]), [10]);
  t.same([...rowToCol], [-1]);
  t.equal(total, 10);
});

t.test('empty problems and bad input', async (t) => {
  t.same([...solveAssignment(sparseFromRows(3, []), []).rowToCol], []);
  t.same([...solveAssignment(sparseFromRows(0, [[]]), [7]).rowToCol], [-1]);
  t.throws(() => solveAssignment(sparseFromRows(1, [[{ col: 0, cost: 1 }]]), []), RangeError);
  t.throws(() => sparseFromRows(1, [[{ col: 3, cost: 1 }]]), RangeError);
});

t.test('larger sparse case: exact against a dense brute-force-free check (duality)', async (t) => {
  // 60×80 random sparse matrix: the solver's answer must not be improvable by any single swap.
  const rand = rng(7);
  const rows = 60;
  const cols = 80;
  const cost = Array.from({ length: rows }, () => Array.from({ length: cols }, () => (rand() < 0.8 ? Infinity : Math.round(rand() * 500))));
  const unassigned = new Array<number>(rows).fill(1e5);
  const { rowToCol, total } = solveAssignment(sparseFromDense(cost, cols), unassigned);
  checkResult(t, cost, unassigned, cols, rowToCol, total);
  const owner = new Map<number, number>();
  rowToCol.forEach((c, r) => c >= 0 && owner.set(c, r));
  let improvable = false;
  for (let r = 0; r < rows; r++) {
    const cur = rowToCol[r] >= 0 ? cost[r][rowToCol[r]] : unassigned[r];
    for (let c = 0; c < cols; c++) {
      if (!Number.isFinite(cost[r][c]) || owner.has(c)) continue;
      if (cost[r][c] < cur - 1e-9) improvable = true; // moving to a free column would be better
    }
  }
  t.notOk(improvable, 'no row can move to a free column more cheaply');
});
