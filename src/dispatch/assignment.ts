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
  const touched = new Int32Array(nCols);
  const scanned = new Int32Array(nCols);
  // Binary min-heap with lazy deletion; one Dijkstra pushes at most once per relaxation.
  const heapCap = col.length + rows + 1;
  const heapKey = new Float64Array(heapCap);
  const heapId = new Int32Array(heapCap);

  for (let s = 0; s < rows; s++) {
    const leaveOut = unassignedCost[s];
    if (!Number.isFinite(leaveOut)) throw new RangeError(`unassignedCost[${s}] must be finite`);
    // Row potential so that every pair of s has a non-negative reduced cost.
    let us = leaveOut - v[cols + s];
    for (let e = rowStart[s]; e < rowStart[s + 1]; e++) {
      const red = cost[e] - v[col[e]];
      if (red < us) us = red;
    }
    u[s] = us;

    let nTouched = 0;
    let nScanned = 0;
    let heapSize = 0;
    let target = -1;
    let r = s;
    let base = 0;
    for (;;) {
      // Relax every pair of row r (reached at distance `base`), including its unassigned column.
      const ur = u[r];
      const end = rowStart[r + 1];
      for (let e = rowStart[r]; e <= end; e++) {
        const j = e < end ? col[e] : cols + r;
        if (done[j]) continue;
        const red = (e < end ? cost[e] : unassignedCost[r]) - ur - v[j];
        const nd = base + (red > 0 ? red : 0);
        if (nd < dist[j]) {
          if (dist[j] === Infinity) touched[nTouched++] = j;
          dist[j] = nd;
          predRow[j] = r;
          // Sift up.
          let i = heapSize++;
          while (i > 0) {
            const p = (i - 1) >> 1;
            const pk = heapKey[p];
            if (pk < nd || (pk === nd && heapId[p] <= j)) break;
            heapKey[i] = pk;
            heapId[i] = heapId[p];
            i = p;
          }
          heapKey[i] = nd;
          heapId[i] = j;
        }
      }
      // Pop the closest column not yet final.
      let j = -1;
      while (heapSize > 0) {
        const key = heapKey[0];
        const id = heapId[0];
        const lastKey = heapKey[--heapSize];
        const lastId = heapId[heapSize];
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          if (l >= heapSize) break;
          let c = l;
          const rr = l + 1;
          if (rr < heapSize && (heapKey[rr] < heapKey[l] || (heapKey[rr] === heapKey[l] && heapId[rr] < heapId[l]))) c = rr;
          if (heapKey[c] > lastKey || (heapKey[c] === lastKey && heapId[c] > lastId)) break;
          heapKey[i] = heapKey[c];
          heapId[i] = heapId[c];
          i = c;
        }
        heapKey[i] = lastKey;
        heapId[i] = lastId;
        if (done[id] || key > dist[id]) continue;
        j = id;
        break;
      }
      // The private unassigned column is always reachable and free, so the heap never runs dry first.
      done[j] = 1;
      if (colRow[j] === -1) {
        target = j;
        break;
      }
      scanned[nScanned++] = j;
      r = colRow[j];
      base = dist[j];
    }

    const D = dist[target];
    for (let k = 0; k < nScanned; k++) {
      const j = scanned[k];
      u[colRow[j]] += D - dist[j];
      v[j] += dist[j] - D;
    }
    u[s] += D;
    for (let j = target; ; ) {
      const pr = predRow[j];
      const prev = rowCol[pr];
      rowCol[pr] = j;
      colRow[j] = pr;
      if (pr === s) break;
      j = prev;
    }
    for (let k = 0; k < nTouched; k++) {
      const j = touched[k];
      dist[j] = Infinity;
      done[j] = 0;
    }
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
