/**
 * Delivery fee rules of a zone, pure. The documented formula (README "Zones and quotes"):
 *
 *   surge = open > free ? min(surgeCap, 1 + surgeStep × (open − free) / max(free, 1)) : 1
 *   fee   = min(max, (base + perKm × trip km + option extra) × surge), rounded to the currency's minor unit
 *
 * where `open` is the zone's open orders (waiting for a courier) and `free` its free couriers — the
 * same supply and demand the console shades. Scheduled deliveries pay no surge (the demand at their
 * window is not known now).
 */

export interface FeeRules {
  /** ISO 4217 code, e.g. EUR. */
  readonly currency: string;
  /** Currency units (not minor units). */
  readonly base: number;
  /** Per kilometre of the trip (great-circle pickup → drop-off). */
  readonly perKm: number;
  /** Multiplier added per excess open order per free courier. */
  readonly surgeStep: number;
  /** The surge multiplier never exceeds this (≥ 1). */
  readonly surgeCap: number;
  /** The fee never exceeds this, when set. */
  readonly max?: number;
}

export interface Money {
  /** In currency units, rounded to the currency's minor unit (e.g. 4.35 EUR, 450 JPY). */
  readonly amount: number;
  readonly currency: string;
}

export interface FeeInput {
  readonly tripM: number;
  readonly openOrders: number;
  readonly freeCouriers: number;
  /** The option's extra (OptionSettings.feeExtra), currency units. */
  readonly extra?: number;
  /** false for scheduled deliveries. */
  readonly surge?: boolean;
}

export function isCurrency(code: string): boolean {
  return /^[A-Z]{3}$/.test(code) && Intl.supportedValuesOf('currency').includes(code);
}

/** Digits after the decimal point of the currency's minor unit (EUR 2, JPY 0, KWD 3). */
export function minorDigits(currency: string): number {
  let d = DIGITS.get(currency);
  if (d === undefined) {
    d = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
    DIGITS.set(currency, d);
  }
  return d;
}
/** Building a NumberFormat costs tens of µs; a quote needs the digits every time. */
const DIGITS = new Map<string, number>();

/** Rounds half away from zero to the minor unit; toPrecision first so 2.675 × 100 does not become 267.4999…. */
export function roundToMinor(amount: number, currency: string): number {
  const f = 10 ** minorDigits(currency);
  const scaled = Number((Math.abs(amount) * f).toPrecision(12));
  return (Math.sign(amount) * Math.round(scaled)) / f;
}

export function surgeMultiplier(rules: Pick<FeeRules, 'surgeStep' | 'surgeCap'>, openOrders: number, freeCouriers: number): number {
  if (openOrders <= freeCouriers) return 1;
  return Math.min(rules.surgeCap, 1 + (rules.surgeStep * (openOrders - freeCouriers)) / Math.max(freeCouriers, 1));
}

export function deliveryFee(rules: FeeRules, input: FeeInput): Money & { surge: number } {
  const surge = input.surge === false ? 1 : surgeMultiplier(rules, input.openOrders, input.freeCouriers);
  const raw = (rules.base + rules.perKm * (input.tripM / 1000) + (input.extra ?? 0)) * surge;
  const capped = rules.max === undefined ? raw : Math.min(rules.max, raw);
  return { amount: roundToMinor(capped, rules.currency), currency: rules.currency, surge };
}

export function feeRulesProblem(rules: FeeRules): { field: string; message: string } | null {
  if (!isCurrency(rules.currency)) return { field: 'currency', message: `unknown currency ${JSON.stringify(rules.currency)} (ISO 4217, e.g. EUR)` };
  for (const k of ['base', 'perKm', 'surgeStep'] as const) {
    if (!(rules[k] >= 0)) return { field: k, message: `${k} must be ≥ 0` };
  }
  if (!(rules.surgeCap >= 1)) return { field: 'surgeCap', message: 'surgeCap must be ≥ 1' };
  if (rules.max !== undefined && !(rules.max >= rules.base)) return { field: 'max', message: 'max is below base' };
  return null;
}
