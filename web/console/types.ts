/** The `/v1/console` state frame, as src/runtime/console-state.ts sends it (kept in step by the e2e tests). */

export type CourierStatus = 'free' | 'busy' | 'paused' | 'offline';
export const COURIER_STATUSES: readonly CourierStatus[] = ['free', 'busy', 'paused', 'offline'];

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
  /** Predicted hand-over while a courier has it (null otherwise). */
  etaDropoffAt?: number | null;
  /** The latest dispatch round's decision about it (the explain feature; absent on older services). */
  dispatch?: DispatchSummary;
}

export interface NearestCourier {
  courierId?: string;
  etaPickupAt: number;
  freesAt?: number;
}

export interface DispatchSummary {
  decision: 'assigned' | 'waiting' | 'carrier' | 'reassigned';
  reason?: string;
  at: number;
  courierId?: string;
  nearest?: NearestCourier;
}

/** GET /v1/orders/:id/dispatch */
export interface DispatchDecision extends DispatchSummary {
  orderId: string;
  zone: string;
  etaPickupAt?: number;
  etaDropoffAt?: number;
  stops?: unknown[];
  cost?: { total: number; [k: string]: number };
  runnerUp?: { courierId?: string; costDelta: number; etaPickupAt?: number };
  /** The ready time the round planned with: known, learned (store's prep times), the store's estimate, or placement. */
  ready?: { source: 'known' | 'learned' | 'store' | 'default'; at: number; medianS?: number; spreadS?: number; samples?: number };
  /** An assignment update: taken from `fromCourierId`, offered to `courierId` (issue 14). */
  reassigned?: { reason: string; fromCourierId?: string; savedS: number; gainS: number; readyChangeS: number };
}

/** GET /v1/couriers/:id (with the explain feature's fields optional). */
export interface CourierDetail {
  courierId: string;
  lat: number;
  lng: number;
  serverTs: number;
  stale: boolean;
  paused: boolean;
  status?: string;
  load?: number;
  shiftEndsAt?: number | null;
  lastSeenAt?: number;
  stops?: { orderId: string; kind: 'pickup' | 'dropoff'; lat: number; lng: number; eta: number }[];
}

/** GET /v1/orders/:id */
export interface OrderDetail {
  id: string;
  externalId: string;
  storeId: string;
  status: string;
  pickup: { lat: number; lng: number; address?: string };
  dropoff: { lat: number; lng: number; address?: string };
  items: number;
  size?: number;
  option: string;
  window?: { from: number; to: number } | null;
  placedAt: number;
  promisedBy: number;
  courierId: string | null;
  pinned: boolean;
  priority: number;
  reason?: string | null;
}

export interface OrderEvent {
  type: string;
  at: number;
  [k: string]: unknown;
}

/** GET /v1/orders/:id/assign-preview */
export interface AssignPreview {
  chosen: { courierId: string; etaPickupAt: number; etaDropoffAt: number; cost: number };
  optimizer: { courierId?: string; etaPickupAt?: number; etaDropoffAt?: number; cost?: number } | null;
  delta: { etaDropoffMs: number; cost: number } | null;
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
  /** The same window split by fleet: own first, then each carrier. */
  byFleet: FleetKpis[];
}

export interface FleetKpis {
  fleet: string;
  placed: number;
  delivered: number;
  onTime: number;
  late: number;
  onTimePct: number | null;
  ctdP50Ms: number | null;
  ctdP90Ms: number | null;
  cost: { currency: string; orders: number; perOrder: number }[];
}

export interface ConsoleState {
  type: 'state';
  at: number;
  couriers: ConsoleCourier[];
  orders: ConsoleOrder[];
  cells: ConsoleCell[];
  kpis: Kpis;
  truncated: { couriers: boolean; orders: boolean };
  /** Changes when a delivery zone changes: reload GET /v1/zones. */
  zonesVersion: string;
}

/** A delivery zone as GET /v1/zones lists it (the fields the map draws). */
export interface ZoneView {
  id: string;
  geometry: { type: 'Polygon'; coordinates: [number, number][][] } | { type: 'MultiPolygon'; coordinates: [number, number][][][] };
  settings: { name: string; active: boolean; fleet: 'own' | 'carrier' | 'both'; carrier: string | null };
  version: number;
}
