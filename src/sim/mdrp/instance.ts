/**
 * Reads one Grubhub MDRP instance folder (where to get them and the file layout: data-dir.ts, README "MDRP instances") into typed data.
 * Files are tab-separated with a header line; any malformed line fails with a code, the file and the line.
 */
import { readFileSync, existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';

export type MdrpInstanceErrorCode =
  | 'MDRP_FILE_MISSING'
  | 'MDRP_BAD_HEADER'
  | 'MDRP_BAD_LINE'
  | 'MDRP_BAD_VALUE'
  | 'MDRP_DUPLICATE_ID'
  | 'MDRP_UNKNOWN_RESTAURANT'
  | 'MDRP_EMPTY';

export class MdrpInstanceError extends Error {
  constructor(
    readonly code: MdrpInstanceErrorCode,
    message: string,
    readonly file?: string,
    readonly line?: number,
  ) {
    super(`${code}: ${file ? `${file}${line ? `:${line}` : ''}: ` : ''}${message}`);
    this.name = 'MdrpInstanceError';
  }
}

/** A place in an instance: planar metres plus the id the evaluator files use for it. */
export interface MdrpPlace {
  readonly x: number;
  readonly y: number;
  /** Restaurant id, order id (the customer) or courier id (its on-location). */
  readonly id: string;
}

export interface MdrpRestaurant extends MdrpPlace {}

export interface MdrpOrder {
  readonly id: string;
  /** The customer's location (drop-off); its id is the order id. */
  readonly customer: MdrpPlace;
  readonly placementTime: number;
  readonly restaurantId: string;
  readonly readyTime: number;
}

export interface MdrpCourier {
  readonly id: string;
  /** Where the courier is at on_time; its id is the courier id. */
  readonly start: MdrpPlace;
  readonly onTime: number;
  readonly offTime: number;
}

export interface MdrpParameters {
  readonly metersPerMinute: number;
  readonly pickupServiceMin: number;
  readonly dropoffServiceMin: number;
  readonly targetClickToDoorMin: number;
  readonly maxClickToDoorMin: number;
  readonly payPerOrder: number;
  readonly guaranteedPayPerHour: number;
}

export interface MdrpInstance {
  readonly name: string;
  readonly params: MdrpParameters;
  readonly restaurants: ReadonlyMap<string, MdrpRestaurant>;
  /** In file order. */
  readonly orders: readonly MdrpOrder[];
  readonly couriers: readonly MdrpCourier[];
}

/** The raw text of the four files an instance needs. */
export interface MdrpInstanceFiles {
  readonly restaurants: string;
  readonly orders: string;
  readonly couriers: string;
  readonly parameters: string;
}

export const FILE_NAMES = {
  restaurants: 'restaurants.txt',
  orders: 'orders.txt',
  couriers: 'couriers.txt',
  parameters: 'instance_parameters.txt',
} as const;

/** Reads and parses the instance folder `dir`. */
export function readInstance(dir: string): MdrpInstance {
  const files = {} as Record<keyof MdrpInstanceFiles, string>;
  for (const [key, name] of Object.entries(FILE_NAMES) as [keyof MdrpInstanceFiles, string][]) {
    const path = join(dir, name);
    if (!existsSync(path)) throw new MdrpInstanceError('MDRP_FILE_MISSING', `missing ${name} in ${dir}`, path);
    files[key] = readFileSync(path, 'utf8');
  }
  return parseInstance(basename(resolve(dir)), files);
}

/** Parses an instance from the text of its files (tests build small instances this way). */
export function parseInstance(name: string, files: MdrpInstanceFiles): MdrpInstance {
  const params = parseParameters(files.parameters);

  const restaurants = new Map<string, MdrpRestaurant>();
  for (const row of table(files.restaurants, FILE_NAMES.restaurants, ['restaurant', 'x', 'y'])) {
    const id = row.text('restaurant');
    if (restaurants.has(id)) row.fail('MDRP_DUPLICATE_ID', `restaurant ${id} appears twice`);
    restaurants.set(id, { id, x: row.num('x'), y: row.num('y') });
  }

  const orders: MdrpOrder[] = [];
  const orderIds = new Set<string>();
  for (const row of table(files.orders, FILE_NAMES.orders, ['order', 'x', 'y', 'placement_time', 'restaurant', 'ready_time'])) {
    const id = row.text('order');
    if (orderIds.has(id)) row.fail('MDRP_DUPLICATE_ID', `order ${id} appears twice`);
    orderIds.add(id);
    const restaurantId = row.text('restaurant');
    if (!restaurants.has(restaurantId)) row.fail('MDRP_UNKNOWN_RESTAURANT', `order ${id} names unknown restaurant ${restaurantId}`);
    const placementTime = row.int('placement_time');
    const readyTime = row.int('ready_time');
    if (readyTime < placementTime) row.fail('MDRP_BAD_VALUE', `order ${id} is ready (${readyTime}) before it is placed (${placementTime})`);
    orders.push({ id, customer: { id, x: row.num('x'), y: row.num('y') }, placementTime, restaurantId, readyTime });
  }

  const couriers: MdrpCourier[] = [];
  const courierIds = new Set<string>();
  for (const row of table(files.couriers, FILE_NAMES.couriers, ['courier', 'x', 'y', 'on_time', 'off_time'])) {
    const id = row.text('courier');
    if (courierIds.has(id)) row.fail('MDRP_DUPLICATE_ID', `courier ${id} appears twice`);
    courierIds.add(id);
    const onTime = row.int('on_time');
    const offTime = row.int('off_time');
    if (offTime <= onTime) row.fail('MDRP_BAD_VALUE', `courier ${id} goes off (${offTime}) before it goes on (${onTime})`);
    couriers.push({ id, start: { id, x: row.num('x'), y: row.num('y') }, onTime, offTime });
  }

  // The evaluator keeps restaurants, orders and couriers in one id space.
  for (const id of orderIds) {
    if (restaurants.has(id) || courierIds.has(id)) throw new MdrpInstanceError('MDRP_DUPLICATE_ID', `id ${id} is used twice across files`);
  }
  for (const id of courierIds) {
    if (restaurants.has(id)) throw new MdrpInstanceError('MDRP_DUPLICATE_ID', `id ${id} is used twice across files`);
  }
  if (orders.length === 0) throw new MdrpInstanceError('MDRP_EMPTY', 'no orders', FILE_NAMES.orders);
  if (couriers.length === 0) throw new MdrpInstanceError('MDRP_EMPTY', 'no couriers', FILE_NAMES.couriers);

  return { name, params, restaurants, orders, couriers };
}

function parseParameters(text: string): MdrpParameters {
  const rows = [
    ...table(text, FILE_NAMES.parameters, [
      'meters_per_minute',
      'pickup service minutes',
      'dropoff service minutes',
      'target click-to-door',
      'maximum click-to-door',
      'pay per order',
      'guaranteed pay per hour',
    ]),
  ];
  const row = rows[0];
  if (!row || rows.length !== 1) throw new MdrpInstanceError('MDRP_BAD_LINE', `expected exactly one line of values, got ${rows.length}`, FILE_NAMES.parameters);
  const params: MdrpParameters = {
    metersPerMinute: row.num('meters_per_minute'),
    pickupServiceMin: row.num('pickup service minutes'),
    dropoffServiceMin: row.num('dropoff service minutes'),
    targetClickToDoorMin: row.num('target click-to-door'),
    maxClickToDoorMin: row.num('maximum click-to-door'),
    payPerOrder: row.num('pay per order'),
    guaranteedPayPerHour: row.num('guaranteed pay per hour'),
  };
  if (!(params.metersPerMinute > 0)) row.fail('MDRP_BAD_VALUE', 'meters_per_minute must be > 0');
  for (const [key, value] of Object.entries(params)) {
    if (value < 0) row.fail('MDRP_BAD_VALUE', `${key} must be ≥ 0, got ${value}`);
  }
  return params;
}

interface Row {
  text(column: string): string;
  num(column: string): number;
  int(column: string): number;
  fail(code: MdrpInstanceErrorCode, message: string): never;
}

/** Yields the data lines of a tab-separated table whose header must hold exactly `columns`. */
function* table(text: string, file: string, columns: readonly string[]): Generator<Row> {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? '').split('\t').map((h) => h.trim());
  if (header.length !== columns.length || header.some((h, i) => h !== columns[i])) {
    throw new MdrpInstanceError('MDRP_BAD_HEADER', `expected header "${columns.join('\\t')}", got "${header.join('\\t')}"`, file, 1);
  }
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const lineNo = i + 1;
    const cells = line.split('\t').map((c) => c.trim());
    const fail = (code: MdrpInstanceErrorCode, message: string): never => {
      throw new MdrpInstanceError(code, message, file, lineNo);
    };
    if (cells.length !== columns.length) fail('MDRP_BAD_LINE', `expected ${columns.length} tab-separated values, got ${cells.length}`);
    const cell = (column: string): string => cells[columns.indexOf(column)]!;
    const num = (column: string): number => {
      const raw = cell(column);
      const value = Number(raw);
      if (raw === '' || !Number.isFinite(value)) fail('MDRP_BAD_VALUE', `${column} is not a number: "${raw}"`);
      return value;
    };
    yield {
      text: (column) => {
        const raw = cell(column);
        if (raw === '') fail('MDRP_BAD_VALUE', `${column} is empty`);
        return raw;
      },
      num,
      int: (column) => {
        const value = num(column);
        if (!Number.isInteger(value)) fail('MDRP_BAD_VALUE', `${column} must be whole minutes, got ${value}`);
        return value;
      },
      fail,
    };
  }
}
