/**
 * One instance end to end: read → simulate → write the evaluator files → check them (a violation is a
 * harness or optimizer bug, so it throws) → metrics.json. Shared by the CLIs and the worker pool.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Policy } from '../../dispatch/types.js';
import { defaultPolicy, withOverrides } from '../../dispatch/policy.js';
import { checkSolutionDir, type Violation } from './checker.js';
import { readInstance } from './instance.js';
import { isReadyEstimateMode, READY_ESTIMATES } from './ready-estimates.js';
import { computeMetrics, type MdrpMetrics } from './metrics.js';
import { defaultSimOptions, simulate, type Planner, type SimOptions } from './simulate.js';
import { formatSolution, writeSolution } from './solution.js';
import type { MdrpPlace } from './instance.js';

export type SimSettings = Omit<SimOptions, 'planner' | 'policy' | 'logger'>;

/** The `--set` keys the simulator owns; any other key is a policy key. */
export const simSettingKeys = Object.keys(defaultSimOptions);

export class SettingsError extends Error {
  readonly code = 'MDRP_BAD_SETTING';
  constructor(message: string) {
    super(`MDRP_BAD_SETTING: ${message}`);
    this.name = 'SettingsError';
  }
}

export class InfeasibleSolutionError extends Error {
  readonly code = 'MDRP_INFEASIBLE_SOLUTION';
  constructor(readonly instance: string, readonly violations: readonly Violation[]) {
    super(
      `MDRP_INFEASIBLE_SOLUTION: ${instance}: ${violations.length} violation(s), first: ${violations
        .slice(0, 3)
        .map((v) => `${v.code} ${v.message}`)
        .join('; ')}`,
    );
    this.name = 'InfeasibleSolutionError';
  }
}

/**
 * The MDRP harness's policy: the service's defaults plus the per-courier price of waiting for uncertain
 * ready times (`readySpareQuantile` 0, src/dispatch/spare-couriers.ts), tuned on the 144 shared instances
 * (docs/mdrp-findings.md "third pass"). It is off in the live service: sending an idle courier to wait up
 * to 15 min at a store is a change the service's operators should opt into (test/integration/prep-times).
 * Known mode never reaches it (no uncertain ready times). `--set` overrides win.
 */
export const MDRP_POLICY_DEFAULTS: Readonly<Record<string, string>> = Object.freeze({ readySpareQuantile: '0' });

export function mdrpPolicy(overrides: Readonly<Record<string, string>>): Policy {
  return withOverrides(defaultPolicy, { ...MDRP_POLICY_DEFAULTS, ...overrides });
}

/**
 * Splits `--set key=value` pairs into simulator settings (the keys of defaultSimOptions) and the rest,
 * which are policy overrides for the optimizer to validate.
 */
export function splitSettings(pairs: Readonly<Record<string, string>>): { sim: Partial<SimSettings>; policy: Record<string, string> } {
  const sim: Record<string, number | boolean | string> = {};
  const policy: Record<string, string> = {};
  for (const [key, raw] of Object.entries(pairs)) {
    const current = (defaultSimOptions as Record<string, unknown>)[key];
    if (current === undefined) {
      policy[key] = raw;
    } else if (key === 'readyEstimate') {
      if (!isReadyEstimateMode(raw)) throw new SettingsError(`readyEstimate must be one of ${READY_ESTIMATES.join(', ')}, got "${raw}"`);
      sim[key] = raw;
    } else if (typeof current === 'boolean') {
      if (raw !== 'true' && raw !== 'false') throw new SettingsError(`${key} must be true or false, got "${raw}"`);
      sim[key] = raw === 'true';
    } else {
      const value = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(value)) throw new SettingsError(`${key} must be a number, got "${raw}"`);
      if (key === 'roundEveryMin' && !(Number.isInteger(value) && value >= 1)) throw new SettingsError(`roundEveryMin must be a whole number ≥ 1, got "${raw}"`);
      if (key !== 'prepEstimateQuantile' && value < 0) throw new SettingsError(`${key} must be ≥ 0, got "${raw}"`);
      if (key === 'prepEstimateQuantile' && value > 1) throw new SettingsError(`prepEstimateQuantile must be ≤ 1 (< 0 for the mean), got "${raw}"`);
      sim[key] = value;
    }
  }
  return { sim: sim as Partial<SimSettings>, policy };
}

export interface RunInstanceOptions {
  readonly instanceDir: string;
  readonly outDir: string;
  readonly planner: Planner<MdrpPlace>;
  readonly policy: Policy;
  readonly sim?: Partial<SimSettings>;
  readonly logger?: Logger;
}

export function runInstance(opts: RunInstanceOptions): MdrpMetrics {
  const instance = readInstance(opts.instanceDir);
  const result = simulate(instance, {
    ...defaultSimOptions,
    ...opts.sim,
    planner: opts.planner,
    policy: opts.policy,
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
  mkdirSync(opts.outDir, { recursive: true });
  writeSolution(opts.outDir, formatSolution(result));
  const violations = checkSolutionDir(instance, opts.outDir);
  if (violations.length > 0) {
    writeFileSync(join(opts.outDir, 'violations.json'), JSON.stringify(violations, null, 2) + '\n');
    throw new InfeasibleSolutionError(instance.name, violations);
  }
  const metrics = computeMetrics(result);
  writeFileSync(join(opts.outDir, 'metrics.json'), JSON.stringify(metrics, null, 2) + '\n');
  return metrics;
}
