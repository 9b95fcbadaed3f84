/**
 * The three solution files the public MDRP evaluator reads (data README), written from a simulation
 * result and read back (for the checker). Space-separated, first line a header, times in minutes.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SimResult } from './simulate.js';

export const SOLUTION_FILES = {
  assignments: 'solution_info_assignments.txt',
  orders: 'solution_info_orders.txt',
  couriers: 'solution_info_couriers.txt',
} as const;

export interface SolutionTexts {
  readonly assignments: string;
  readonly orders: string;
  readonly couriers: string;
}

/** Origin id the evaluator reads as "the courier's on-location". */
export const ON_LOCATION = '0';

export function formatSolution(result: SimResult): SolutionTexts {
  const assignments = ['assignment_time pickup_time courier order'];
  for (const r of result.routes) {
    assignments.push([r.assignedAt, r.timing.pickupAt, r.courierId, ...r.orderIds].map(String).join(' '));
  }

  const orders = ['order placement_time ready_time pickup_time dropoff_time courier'];
  for (const o of result.instance.orders) {
    const out = result.outcomes.get(o.id);
    const tail = out ? [out.pickupAt, out.dropoffAt, out.courierId] : ['NaN', 'NaN', 'NaN'];
    orders.push([o.id, o.placementTime, o.readyTime, ...tail].map(String).join(' '));
  }

  const couriers = ['courier departure_time origin destination'];
  for (const c of result.instance.couriers) {
    for (const m of result.moves.get(c.id) ?? []) {
      const origin = m.from.id === c.id ? ON_LOCATION : m.from.id;
      couriers.push(`${c.id} ${m.departAt} ${origin} ${m.to.id}`);
    }
  }
  const text = (lines: string[]) => lines.join('\n') + '\n';
  return { assignments: text(assignments), orders: text(orders), couriers: text(couriers) };
}

export function writeSolution(dir: string, texts: SolutionTexts): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, SOLUTION_FILES.assignments), texts.assignments);
  writeFileSync(join(dir, SOLUTION_FILES.orders), texts.orders);
  writeFileSync(join(dir, SOLUTION_FILES.couriers), texts.couriers);
}

export function readSolutionTexts(dir: string): SolutionTexts {
  return {
    assignments: readFileSync(join(dir, SOLUTION_FILES.assignments), 'utf8'),
    orders: readFileSync(join(dir, SOLUTION_FILES.orders), 'utf8'),
    couriers: readFileSync(join(dir, SOLUTION_FILES.couriers), 'utf8'),
  };
}

export interface AssignmentLine {
  readonly line: number;
  readonly assignmentTime: number;
  readonly pickupTime: number;
  readonly courierId: string;
  readonly orderIds: readonly string[];
}

export interface OrderLine {
  readonly line: number;
  readonly orderId: string;
  readonly placementTime: number;
  readonly readyTime: number;
  /** NaN when undelivered. */
  readonly pickupTime: number;
  readonly dropoffTime: number;
  /** Undefined when undelivered. */
  readonly courierId?: string;
}

export interface MoveLine {
  readonly line: number;
  readonly courierId: string;
  readonly departureTime: number;
  /** `0` for the courier's on-location, else a restaurant or order id. */
  readonly origin: string;
  readonly destination: string;
}

export interface ParsedSolution {
  readonly assignments: readonly AssignmentLine[];
  readonly orders: readonly OrderLine[];
  readonly moves: readonly MoveLine[];
  /** Lines that could not be read (the checker reports them). */
  readonly malformed: readonly { file: string; line: number; text: string; why: string }[];
}

/** Reads the three files leniently: bad lines are collected, not thrown, so the checker can report them. */
export function parseSolution(texts: SolutionTexts): ParsedSolution {
  const malformed: { file: string; line: number; text: string; why: string }[] = [];
  const rows = (text: string, file: string, minCells: number) => {
    const out: { line: number; cells: string[] }[] = [];
    text.split(/\r?\n/).forEach((raw, i) => {
      if (i === 0 || raw.trim() === '') return;
      const cells = raw.trim().split(/\s+/);
      if (cells.length < minCells) malformed.push({ file, line: i + 1, text: raw, why: `expected at least ${minCells} values` });
      else out.push({ line: i + 1, cells });
    });
    return out;
  };
  const time = (s: string) => (s === '' || /^nan$/i.test(s) ? Number.NaN : Number(s));

  const assignments: AssignmentLine[] = [];
  for (const { line, cells } of rows(texts.assignments, SOLUTION_FILES.assignments, 4)) {
    const [a, p, courierId, ...orderIds] = cells;
    const assignmentTime = Number(a);
    const pickupTime = Number(p);
    if (!Number.isFinite(assignmentTime) || !Number.isFinite(pickupTime)) {
      malformed.push({ file: SOLUTION_FILES.assignments, line, text: cells.join(' '), why: 'times must be numbers' });
      continue;
    }
    assignments.push({ line, assignmentTime, pickupTime, courierId: courierId!, orderIds });
  }

  const orders: OrderLine[] = [];
  for (const { line, cells } of rows(texts.orders, SOLUTION_FILES.orders, 3)) {
    const [orderId, placement, ready, pickup, dropoff, courier] = cells;
    const courierId = courier === undefined || /^nan$/i.test(courier) ? undefined : courier;
    orders.push({
      line,
      orderId: orderId!,
      placementTime: time(placement!),
      readyTime: time(ready!),
      pickupTime: time(pickup ?? ''),
      dropoffTime: time(dropoff ?? ''),
      ...(courierId ? { courierId } : {}),
    });
  }

  const moves: MoveLine[] = [];
  for (const { line, cells } of rows(texts.couriers, SOLUTION_FILES.couriers, 4)) {
    const [courierId, departure, origin, destination] = cells;
    const departureTime = Number(departure);
    if (!Number.isFinite(departureTime)) {
      malformed.push({ file: SOLUTION_FILES.couriers, line, text: cells.join(' '), why: 'departure_time must be a number' });
      continue;
    }
    moves.push({ line, courierId: courierId!, departureTime, origin: origin!, destination: destination! });
  }
  return { assignments, orders, moves, malformed };
}
