/**
 * The optimizer's tunables and the time-vs-cost knob.
 *
 * Every assignment is scored as
 *
 *   total = timeWeight       × (clickToDoorWeight × Σ click-to-door s + latenessWeight × Σ seconds past promisedBy)
 *         + (1 − timeWeight) × (courierSecondWeight × travel s + idleWeight × waiting s + payWeight × extra pay)
 *
 * so `timeWeight` = 1 cares only about how fast orders arrive and 0 only about what couriers cost; the
 * weights inside each side set the exchange rate (one cost unit ≈ one second of click-to-door). Extra pay is
 * the guaranteed-pay top-up arithmetic: an order given to a courier still under their hourly guarantee costs
 * nothing extra, one given to a courier above it costs the per-order rate. When couriers are short, courier
 * time is priced too (scarcity.ts: scarcityWeight, busyTimeWeight; "short" is counted over scarcityHorizonS).
 * See docs/optimizer.md.
 */
import type { Policy } from './types.js';

export const defaultPolicy: Policy = Object.freeze({
  maxMs: 40,
  timeWeight: 0.95,
  clickToDoorWeight: 1,
  latenessWeight: 2,
  courierSecondWeight: 1,
  idleWeight: 0.2,
  payWeight: 60,
  maxBundleSize: 4,
  commitHorizonS: 120,
  candidateRadiusS: 3600,
  candidatesPerBundle: 16,
  lookAheadS: 1800,
  bundleReadyGapS: 600,
  freedCourierFactor: 4,
  ageWeight: 0,
  deferralS: 300,
  scarcityWeight: 0,
  busyTimeWeight: 16,
  scarcityHorizonS: 1200,
  readyQuantile: 0.3,
  readyMaxExpectedWaitS: 600,
  readyScarcityWait: 0,
  readyRiskWeight: 1,
  readyBusyRiskWeight: 1,
  readySpareQuantile: -1,
  readySpareSlackS: 900,
  readySpareMaxWaitS: 900,
});

export class PolicyError extends Error {
  constructor(
    readonly code: 'POLICY_UNKNOWN_KEY' | 'POLICY_BAD_VALUE',
    message: string,
  ) {
    super(message);
    this.name = 'PolicyError';
  }
}

type Rule = { min: number; max: number; integer: boolean };
const RULES: Record<keyof Policy, Rule> = {
  maxMs: { min: 0, max: 600_000, integer: false },
  timeWeight: { min: 0, max: 1, integer: false },
  clickToDoorWeight: { min: 0, max: 1e6, integer: false },
  latenessWeight: { min: 0, max: 1e6, integer: false },
  courierSecondWeight: { min: 0, max: 1e6, integer: false },
  idleWeight: { min: 0, max: 1e6, integer: false },
  payWeight: { min: 0, max: 1e6, integer: false },
  maxBundleSize: { min: 1, max: 1000, integer: true },
  commitHorizonS: { min: 0, max: 1e7, integer: false },
  candidateRadiusS: { min: 0, max: 1e7, integer: false },
  candidatesPerBundle: { min: 1, max: 100_000, integer: true },
  lookAheadS: { min: 0, max: 1e7, integer: false },
  bundleReadyGapS: { min: 0, max: 1e7, integer: false },
  freedCourierFactor: { min: 0, max: 1e6, integer: false },
  ageWeight: { min: 0, max: 1e6, integer: false },
  deferralS: { min: 0, max: 1e7, integer: false },
  scarcityWeight: { min: 0, max: 1e6, integer: false },
  busyTimeWeight: { min: 0, max: 1e6, integer: false },
  scarcityHorizonS: { min: 0, max: 1e7, integer: false },
  readyQuantile: { min: -1, max: 1, integer: false },
  readyScarcityWait: { min: 0, max: 1e6, integer: false },
  readyMaxExpectedWaitS: { min: 0, max: 1e7, integer: false },
  readyRiskWeight: { min: 0, max: 1e6, integer: false },
  readyBusyRiskWeight: { min: 0, max: 1e6, integer: false },
  readySpareQuantile: { min: -1, max: 1, integer: false },
  readySpareSlackS: { min: 0, max: 1e7, integer: false },
  readySpareMaxWaitS: { min: 0, max: 1e7, integer: false },
};

export const policyKeys = Object.keys(RULES) as (keyof Policy)[];

/**
 * A copy of `policy` with `overrides` applied (values may be strings from `--set key=value`).
 * Unknown keys and out-of-range values throw a PolicyError naming the key and the allowed range.
 */
export function withOverrides(policy: Policy, overrides: Readonly<Record<string, string | number>>): Policy {
  const next: Record<string, number> = { ...policy };
  for (const [key, raw] of Object.entries(overrides)) {
    const rule = (RULES as Record<string, Rule | undefined>)[key];
    if (!rule) {
      throw new PolicyError('POLICY_UNKNOWN_KEY', `unknown policy key "${key}"; known keys: ${policyKeys.join(', ')}`);
    }
    const value = typeof raw === 'number' ? raw : raw.trim() === '' ? Number.NaN : Number(raw);
    if (!Number.isFinite(value) || value < rule.min || value > rule.max || (rule.integer && !Number.isInteger(value))) {
      throw new PolicyError(
        'POLICY_BAD_VALUE',
        `policy ${key}=${String(raw)} is invalid: expected ${rule.integer ? 'an integer' : 'a number'} in [${rule.min}, ${rule.max}]`,
      );
    }
    next[key] = value;
  }
  return Object.freeze(next) as unknown as Policy;
}

/** Parses `key=value` strings (repeated `--set` flags) into a plain override record. */
export function parseOverrides(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new PolicyError('POLICY_BAD_VALUE', `expected key=value, got "${pair}"`);
    out[pair.slice(0, eq).trim()] = pair.slice(eq + 1);
  }
  return out;
}
