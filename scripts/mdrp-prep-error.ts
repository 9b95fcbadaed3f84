/**
 * Diagnostic: the ready-time estimators' own error on the MDRP instances, at placement (predicted ready −
 * actual ready, minutes), over every order of every instance in a directory.
 *   npx tsx scripts/mdrp-prep-error.ts [DIR] [modes, default learned,restaurant-mean]
 * zrms = root mean square of error / predicted spread (1 = the spread is calibrated).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readInstance } from '../src/sim/mdrp/instance.js';
import { isReadyEstimateMode, makeReadyEstimator } from '../src/sim/mdrp/ready-estimates.js';
import { defaultSimOptions } from '../src/sim/mdrp/simulate.js';

const root = process.argv[2] ?? '/work/shared/data/mdrp';
const modes = (process.argv[3] ?? 'learned,restaurant-mean').split(',').filter(isReadyEstimateMode);
const names = readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
for (const mode of modes) {
  let n = 0, ae = 0, se = 0, bias = 0, z2 = 0;
  for (const name of names) {
    const inst = readInstance(join(root, name));
    const est = makeReadyEstimator(mode, inst, defaultSimOptions);
    for (const o of [...inst.orders].sort((a, b) => a.placementTime - b.placementTime)) {
      const e = est.estimate(o, o.placementTime);
      const err = e.readyMin - o.readyTime;
      n++;
      ae += Math.abs(err);
      se += err * err;
      bias += err;
      z2 += e.spreadMin > 0 ? (err / e.spreadMin) ** 2 : 0;
    }
  }
  const f = (x: number) => Number(x.toFixed(3));
  console.log(JSON.stringify({ mode, instances: names.length, orders: n, mae: f(ae / n), rmse: f(Math.sqrt(se / n)), bias: f(bias / n), zrms: f(Math.sqrt(z2 / n)) }));
}
