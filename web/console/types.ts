/** The `/v1/console` state frame, as src/runtime/console-state.ts sends it (kept in step by the e2e tests). */

export type CourierStatus = 'free' | 'offered' | 'busy' | 'paused' | 'offline';

export interface ConsoleCourier {
  courierId: string;
  lat: number;
  lng: number;
  status: CourierStatus;
  load: number;
  lastSeenAt: number;
}

export interface ConsoleOrder {
  id: string;
  externalId: string;
  storeId: string;
  status: string;
  placedAt: number;
  ageMs: number;
  promisedBy: number;
  courierId: string | null;
  pickup: { lat: number; lng: number };
  dropoff: { lat: number; lng: number };
  pinned: boolean;
  priority: number;
}

export interface ConsoleCell {
  cell: string;
  openOrders: number;
  freeCouriers: number;
  boundary: [number, number][];
}

export interface Kpis {
  windowMs: number;
  delivered: number;
  onTimePct: number | null;
  clickToDoorP50Min: number | null;
  clickToDoorP90Min: number | null;
  waiting: number;
  oldestWaitingMin: number | null;
  activeCouriers: number;
  costPerOrder: number | null;
}

export interface ConsoleState {
  type: 'state';
  at: number;
  couriers: ConsoleCourier[];
  orders: ConsoleOrder[];
  cells: ConsoleCell[];
  kpis: Kpis;
  truncated: { couriers: boolean; orders: boolean };
}
