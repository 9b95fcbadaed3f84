/**
 * `npm run mdrp -- --instance DIR --out DIR [--set key=value …] [--ready-late | --ready-estimate MODE]`
 *
 * Replays one Grubhub MDRP instance through the optimizer, writes the three evaluator files and
 * metrics.json to --out, checks the solution (an infeasible one fails the run) and prints the metrics.
 * --set keys: simulator settings (roundEveryMin, eventRounds, readyKnown, readyEstimate, prepEstimateMin, …:
 * defaultSimOptions in src/sim/mdrp/simulate.ts) or optimizer policy keys (see src/dispatch/policy.ts).
 * --ready-estimate hides ready times until the food is ready and tells the optimizer the named estimate
 * (src/sim/mdrp/ready-estimates.ts); --ready-late is --ready-estimate global.
 */
import { parseArgs } from 'node:util';
import { planRound } from '../dispatch/plan-round.js';
import { parseOverrides } from '../dispatch/policy.js';
import { requireInstanceDir } from '../sim/mdrp/data-dir.js';
import { mdrpPolicy, runInstance, simSettingKeys, splitSettings } from '../sim/mdrp/run.js';

const USAGE = 'usage: npm run mdrp -- --instance DIR --out DIR [--set key=value …] [--ready-late | --ready-estimate global|restaurant-mean|learned]';

function main(): void {
  const { values } = parseArgs({
    options: {
      instance: { type: 'string' },
      out: { type: 'string' },
      set: { type: 'string', multiple: true, default: [] },
      'ready-late': { type: 'boolean', default: false },
      'ready-estimate': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (!values.instance || !values.out) throw new Error(`--instance and --out are required\n${USAGE}`);
  requireInstanceDir(values.instance);
  const overrides = parseOverrides(values.set ?? []);
  if (values['ready-late']) overrides.readyKnown = 'false';
  if (values['ready-estimate']) Object.assign(overrides, { readyKnown: 'false', readyEstimate: values['ready-estimate'] });
  const split = splitSettings(overrides);
  const sim = split.sim;
  const policy = split.policy;
  const metrics = runInstance({
    instanceDir: values.instance,
    outDir: values.out,
    planner: planRound,
    policy: mdrpPolicy(policy),
    sim,
  });
  console.log(JSON.stringify(metrics, null, 2));
}

try {
  main();
} catch (err) {
  const e = err as Error & { code?: string };
  const hint = e.code === 'POLICY_UNKNOWN_KEY' ? ` (simulator keys: ${simSettingKeys.join(', ')})` : '';
  console.log(`mdrp failed${e.code ? ` [${e.code}]` : ''}: ${e.message}${hint}`);
  process.exitCode = 1;
}
