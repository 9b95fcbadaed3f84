/**
 * KPIs split by fleet (issue 13): own couriers vs each third-party carrier — orders placed and
 * delivered, on time, click-to-door p50/p90 and cost per order. Pure: the numbers come in as per-fleet
 * counts (one SQL aggregate, store/pg/kpi-queries.ts, behind GET /v1/kpis, the console state and the
 * kpi_* metrics, so the three always agree); this module turns them into what those show.
 *
 * Cost per order:
 * - own fleet: courier pay ÷ own deliveries, the MDRP pay rule of the console KPIs (domain/kpis.ts: per
 *   courier the larger of $10 per delivered order and $15 per hour worked), in the service's
 *   currency (config CURRENCY);
 * - a carrier: what the carrier charged (orders.carrier_cost_minor) ÷ its priced deliveries, one entry
 *   per currency the carrier charged in. Currencies are never converted; a carrier delivery without a
 *   recorded cost counts in `delivered` but in no cost entry.
 */
import { minorDigits } from './fees.js';
import { shiftPay, type CourierShift } from './kpis.js';

export const OWN_FLEET = 'own';

/** What a carrier charged for a set of deliveries, in one currency. */
export interface CarrierCostGroup {
  readonly currency: string;
  /** Deliveries with a recorded cost in this currency. */
  readonly orders: number;
  /** Sum of their costs, minor units. */
  readonly totalMinor: number;
}

/** One fleet's raw numbers over a time range. */
export interface FleetCounts {
  readonly fleet: string;
  /** Orders placed in the range that this fleet has (or had at the end). */
  readonly placed: number;
  /** Orders this fleet delivered in the range. */
  readonly delivered: number;
  /** Of those, delivered at or before promisedBy. */
  readonly onTime: number;
  /** Click-to-door percentiles (nearest rank) of those deliveries, ms; null without any. */
  readonly ctdP50Ms: number | null;
  readonly ctdP90Ms: number | null;
  /** Own fleet: the courier shifts behind its deliveries (pay rule of domain/kpis.ts). */
  readonly shifts?: readonly CourierShift[];
  /** Own-fleet deliveries without a known courier (paid per order). */
  readonly unattributed?: number;
  /** Carrier: what it charged, per currency. */
  readonly carrierCosts?: readonly CarrierCostGroup[];
}

export interface FleetCost {
  readonly currency: string;
  /** Deliveries this cost covers. */
  readonly orders: number;
  /** Cost per delivered order, in major units of the currency, rounded to its minor unit. */
  readonly perOrder: number;
}

export interface FleetKpis {
  readonly fleet: string;
  readonly placed: number;
  readonly delivered: number;
  readonly onTime: number;
  readonly late: number;
  /** 0..100, one decimal; null without deliveries. */
  readonly onTimePct: number | null;
  readonly ctdP50Ms: number | null;
  readonly ctdP90Ms: number | null;
  /** Per currency, sorted by currency; empty without priced deliveries. */
  readonly cost: FleetCost[];
}

const perOrder = (total: number, orders: number, currency: string) => {
  const f = 10 ** minorDigits(currency);
  return Math.round((total * f) / orders) / f;
};

/** The numbers one fleet shows. `ownCurrency`: the currency courier pay is counted in. */
export function fleetKpi(c: FleetCounts, ownCurrency: string): FleetKpis {
  let cost: FleetCost[] = [];
  if (c.fleet === OWN_FLEET) {
    if (c.delivered > 0) cost = [{ currency: ownCurrency, orders: c.delivered, perOrder: perOrder(shiftPay(c.shifts ?? [], c.unattributed ?? 0), c.delivered, ownCurrency) }];
  } else {
    cost = (c.carrierCosts ?? [])
      .filter((g) => g.orders > 0)
      .map((g) => ({ currency: g.currency, orders: g.orders, perOrder: perOrder(g.totalMinor / 10 ** minorDigits(g.currency), g.orders, g.currency) }))
      .sort((a, b) => (a.currency < b.currency ? -1 : a.currency > b.currency ? 1 : 0));
  }
  return {
    fleet: c.fleet,
    placed: c.placed,
    delivered: c.delivered,
    onTime: c.onTime,
    late: c.delivered - c.onTime,
    onTimePct: c.delivered > 0 ? Math.round((1000 * c.onTime) / c.delivered) / 10 : null,
    ctdP50Ms: c.ctdP50Ms,
    ctdP90Ms: c.ctdP90Ms,
    cost,
  };
}

/** Own fleet first (always present), then the carriers by name. */
export function fleetKpis(counts: readonly FleetCounts[], ownCurrency: string): FleetKpis[] {
  const all = [...counts];
  if (!all.some((c) => c.fleet === OWN_FLEET)) all.push({ fleet: OWN_FLEET, placed: 0, delivered: 0, onTime: 0, ctdP50Ms: null, ctdP90Ms: null });
  all.sort((a, b) => (a.fleet === OWN_FLEET ? -1 : b.fleet === OWN_FLEET ? 1 : a.fleet < b.fleet ? -1 : a.fleet > b.fleet ? 1 : 0));
  return all.map((c) => fleetKpi(c, ownCurrency));
}
