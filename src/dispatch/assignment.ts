/**
 * Exact min-cost rectangular assignment on a sparse cost matrix (shortest augmenting paths with
 * Dijkstra and row/column potentials — the Jonker–Volgenant / Hungarian family).
 *
 * Only listed (row, column) pairs are allowed: a missing pair is forbidden. Every row may also stay
 * unassigned at its own `unassignedCost`, which models "leave this bundle for a later round" and makes
 * every instance feasible, whatever the shape. The result minimises
 *   Σ cost(row, column) over assigned rows + Σ unassignedCost(row) over the others,
 * with each column used at most once.
 */

export interface SparseCostMatrix {
  readonly rows: number;
  readonly cols: number;
  /** CSR layout: the pairs of row r are at indices rowStart[r] .. rowStart[r + 1] − 1. */
  readonly rowStart: Int32Array;
  readonly col: Int32Array;
  readonly cost: Float64Array;
}

export interface AssignmentResult {
  /** Column of each row, or −1 when the row stays unassigned. */
  readonly rowToCol: Int32Array;
  readonly total: number;
}

/** Builds a CSR matrix from per-row lists; pairs with a non-finite cost are treated as forbidden. */
export function sparseFromRows(
  cols: number,
  rows: readonly (readonly { col: number; cost: number }[])[],
): SparseCostMatrix {
  let n = 0;
  for (const r of rows) for (const e of r) if (Number.isFinite(e.cost)) n++;
  const rowStart = new Int32Array(rows.length + 1);
  const col = new Int32Array(n);
  const cost = new Float64Array(n);
  let k = 0;
  rows.forEach((r, i) => {
    rowStart[i] = k;
    for (const e of r) {
      if (!Number.isFinite(e.cost)) continue;
      if (e.col < 0 || e.col >= cols) throw new RangeError(`column ${e.col} out of range 0..${cols - 1}`);
      col[k] = e.col;
      cost[k] = e.cost;
      k++;
    }
  });
  rowStart[rows.length] = k;
  return { rows: rows.length, cols, rowStart, col, cost };
}

/** Dense convenience: `cost[r][c]` non-finite (Infinity/NaN) marks a forbidden pair. */
export function sparseFromDense(cost: readonly (readonly number[])[], cols?: number): SparseCostMatrix {
  const width = cols ?? (cost.length ? cost[0].length : 0);
  return sparseFromRows(
    width,
    cost.map((row) => row.map((c, col) => ({ col, cost: c }))),
  );
}

/** Min-heap of (key, id) pairs with lazy deletion; ties break on the smaller id for determinism. */
class MinHeap {
  private keys: number[] = [];
  private ids: number[] = [];
  get size(): number {
    return this.keys.length;
  }
  clear(): void {
    this.keys.length = 0;
    this.ids.length = 0;
  }
  push(key: number, id: number): void {
    const keys = this.keys;
    const ids = this.ids;
    let i = keys.length;
    keys.push(key);
    ids.push(id);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (keys[p] < key || (keys[p] === key && ids[p] <= id)) break;
      keys[i] = keys[p];
      ids[i] = ids[p];
      i = p;
    }
    keys[i] = key;
    ids[i] = id;
  }
  /** Removes the minimum; returns its id (its key is read with peekKey before). */
  popId(): number {
    const keys = this.keys;
    const ids = this.ids;
    const top = ids[0];
    const lastKey = keys.pop()!;
    const lastId = ids.pop()!;
    const n = keys.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        let c = l;
        if (r < n && (keys[r] < keys[l] || (keys[r] === keys[l] && ids[r] < ids[l]))) c = r;
        if (keys[c] > lastKey || (keys[c] === lastKey && ids[c] > lastId)) break;
        keys[i] = keys[c];
        ids[i] = ids[c];
        i = c;
      }
      keys[i] = lastKey;
      ids[i] = lastId;
    }
    return top;
  }
  peekKey(): number {
    return this.keys[0];
  }
}

/**
 * Solves the assignment exactly. `unassignedCost[r]` is what leaving row r out costs; pass a large
 * number to maximise the number of assigned rows first.
 */
export function solveAssignment(m: SparseCostMatrix, unassignedCost: ArrayLike<number>): AssignmentResult {
  const { rows, cols, rowStart, col, cost } = m;
  if (unassignedCost.length !== rows) throw new RangeError('unassignedCost must have one entry per row');
  // Column `cols + r` is row r's private "unassigned" column.
  const nCols = cols + rows;
  const u = new Float64Array(rows);
  const v = new Float64Array(nCols);
  const rowCol = new Int32Array(rows).fill(-1);
  const colRow = new Int32Array(nCols).fill(-1);
  const dist = new Float64Array(nCols).fill(Infinity);
  const done = new Uint8Array(nCols);
  const predRow = new Int32Array(nCols);
  const touched: number[] = [];
  const scanned: number[] = [];
  const heap = new MinHeap();

  for (let s = 0; s < rows; s++) {
    if (!Number.isFinite(unassignedCost[s])) throw new RangeError(`unassignedCost[${s}] must be finite`);
    // Row potential so that every pair of s has a non-negative reduced cost.
    let us = unassignedCost[s] - v[cols + s];
    for (let e = rowStart[s]; e < rowStart[s + 1]; e++) us = Math.min(us, cost[e] - v[col[e]]);
    u[s] = us;

    heap.clear();
    const relax = (r: number, base: number, j: number, c: number): void => {
      if (done[j]) return;
      const red = c - u[r] - v[j];
      const nd = base + (red > 0 ? red : 0);
      if (nd < dist[j]) {
        if (dist[j] === Infinity) touched.push(j);
        dist[j] = nd;
        predRow[j] = r;
        heap.push(nd, j);
      }
    };
    const relaxRow = (r: number, base: number): void => {
      for (let e = rowStart[r]; e < rowStart[r + 1]; e++) relax(r, base, col[e], cost[e]);
      relax(r, base, cols + r, unassignedCost[r]);
    };
    relaxRow(s, 0);

    let target = -1;
    while (heap.size > 0) {
      const key = heap.peekKey();
      const j = heap.popId();
      if (done[j] || key > dist[j]) continue;
      done[j] = 1;
      if (colRow[j] === -1) {
        target = j;
        break;
      }
      scanned.push(j);
      relaxRow(colRow[j], dist[j]);
    }
    // The private unassigned column is always reachable and free, so a target always exists.
    const D = dist[target];
    for (const j of scanned) {
      u[colRow[j]] += D - dist[j];
      v[j] += dist[j] - D;
    }
    u[s] += D;
    for (let j = target; ; ) {
      const r = predRow[j];
      const prev = rowCol[r];
      rowCol[r] = j;
      colRow[j] = r;
      if (r === s) break;
      j = prev;
    }
    for (const j of touched) {
      dist[j] = Infinity;
      done[j] = 0;
    }
    touched.length = 0;
    scanned.length = 0;
  }

  let total = 0;
  const rowToCol = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const j = rowCol[r];
    if (j >= cols) {
      rowToCol[r] = -1;
      total += unassignedCost[r];
      continue;
    }
    rowToCol[r] = j;
    for (let e = rowStart[r]; e < rowStart[r + 1]; e++) {
      if (col[e] === j) {
        total += cost[e];
        break;
      }
    }
  }
  return { rowToCol, total };
}
