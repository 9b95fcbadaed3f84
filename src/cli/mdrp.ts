/**
 * `npm run mdrp -- --instance DIR --out DIR [--set key=value …] [--ready-late]`
 *
 * Replays one Grubhub MDRP instance through the optimizer, writes the three evaluator files and
 * metrics.json to --out, checks the solution (an infeasible one fails the run) and prints the metrics.
 * --set keys: simulator settings (roundEveryMin, eventRounds, readyKnown, prepEstimateMin,
 * courierLookaheadMin, strictEtas, seed) or optimizer policy keys (see src/dispatch/policy.ts).
 */
import { parseArgs } from 'node:util';
import { planRound } from '../dispatch/plan-round.js';
import { defaultPolicy, parseOverrides, withOverrides } from '../dispatch/policy.js';
import { requireInstanceDir } from '../sim/mdrp/data-dir.js';
import { runInstance, simSettingKeys, splitSettings } from '../sim/mdrp/run.js';

const USAGE = 'usage: npm run mdrp -- --instance DIR --out DIR [--set key=value …] [--ready-late]';

function main(): void {
  const { values } = parseArgs({
    options: {
      instance: { type: 'string' },
      out: { type: 'string' },
      set: { type: 'string', multiple: true, default: [] },
      'ready-late': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (!values.instance || !values.out) throw new Error(`--instance and --out are required\n${USAGE}`);
  requireInstanceDir(values.instance);
  const split = splitSettings(parseOverrides(values.set ?? []));
  const sim = values['ready-late'] ? { ...split.sim, readyKnown: false } : split.sim;
  const policy = split.policy;
  const metrics = runInstance({
    instanceDir: values.instance,
    outDir: values.out,
    planner: planRound,
    policy: withOverrides(defaultPolicy, policy),
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
