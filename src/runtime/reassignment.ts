/**
 * Assignment updates in the live service (issue 14): during a zone's dispatch round (holding its lease),
 * the orders of the zone that are assigned to an own courier who has not reached the store are read from
 * Postgres with the ready time their assignment was planned with; those whose ready estimate moved enough
 * (the store's new ready time, or the learned estimate) are weighed against the couriers free for new
 * work by the pure rule (dispatch/reassign.ts), and each move it decides is carried out as one
 * compare-and-set transaction (OfferService.move): the old courier gets `task.changed`
 * (`reason: "reassigned"`), the new one an offer it must accept. A move that loses a race (the courier
 * reached the store, a cancel, an override) is dropped and counted as a conflict.
 */
import type { BaseLogger } from 'pino';
import { cellToChildren, cellToParent } from 'h3-js';
import { decisionReady, type DispatchDecision } from '../dispatch/decisions.js';
import { planMoves, precheck, type AssignedOrder, type ReassignRules, type ReassignVerdict } from '../dispatch/reassign.js';
import type { OrderRequest, Policy } from '../dispatch/types.js';
import { etaThroughStops, type LatLng } from '../domain/eta.js';
import { ZONE_RESOLUTION } from '../domain/geo.js';
import type { Actor, Order } from '../domain/order.js';
import type { MovableOrder, PgOrderRepository } from '../store/pg/order-repository.js';
import { openOrderEntry } from '../store/redis/open-orders.js';
import { remainingStops } from './courier-tasks.js';
import { couriersAround, plannedOrder, withPlannedReady, type SnapshotOptions, type SnapshotSources } from './dispatch-snapshot.js';
import { dispatchZoneOf } from './dispatch-zones.js';
import { OfferError, type MoveRequest } from './offers.js';

type Logger = Pick<BaseLogger, 'debug' | 'info' | 'warn' | 'error'>;

export interface ReassignOutcome {
  /** Orders moved to another courier (offered to it). */
  readonly moved: number;
  /** Moves decided but dropped: the order or the courier changed first. */
  readonly conflicts: number;
  /** One decision per moved order (`decision: "reassigned"`). */
  readonly decisions: readonly DispatchDecision[];
}

export const NO_MOVES: ReassignOutcome = { moved: 0, conflicts: 0, decisions: [] };

export interface ReassignmentDeps {
  readonly repo: Pick<PgOrderRepository, 'movableOrders' | 'activeForCouriers'>;
  readonly sources: SnapshotSources;
  readonly options: SnapshotOptions;
  readonly policy: Policy;
  readonly rules: ReassignRules;
  readonly log: Logger;
  move(req: MoveRequest, actor: Actor): Promise<unknown>;
  isPaused(courierId: string): Promise<boolean>;
}

const ACTOR: Actor = { role: 'system', id: 'dispatcher' };
/** Error codes of a move that lost a race: dropped, not a failure. */
const CONFLICTS = new Set(['order_changed', 'courier_has_open_offer', 'courier_paused', 'illegal_transition', 'version_conflict', 'order_not_found']);

/** The storage zones (orders.zone) whose orders may be picked up in dispatch zone `zone`. */
export function storageZonesOf(zone: string, zoneResolution: number): string[] {
  if (zoneResolution === ZONE_RESOLUTION) return [zone];
  if (zoneResolution < ZONE_RESOLUTION) return cellToChildren(zone, ZONE_RESOLUTION);
  return [cellToParent(zone, ZONE_RESOLUTION)];
}

/** The dispatch zones of storage zones with movable orders (the tick runs rounds there too); finer dispatch zones: none (triggered by the ready events). */
export function dispatchZonesOf(storageZones: readonly string[], zoneResolution: number): string[] {
  if (zoneResolution > ZONE_RESOLUTION) return [];
  return [...new Set(storageZones.map((z) => (zoneResolution === ZONE_RESOLUTION ? z : cellToParent(z, zoneResolution))))];
}

export class Reassignment {
  constructor(private readonly deps: ReassignmentDeps) {}

  /**
   * Looks at the zone's assigned orders and carries out the moves the rule decides; `canCommit` is asked
   * once before the first move (the dispatcher renews its zone lease there).
   */
  async run(zone: string, nowMs: number, canCommit: () => Promise<boolean>): Promise<ReassignOutcome> {
    const { rules, options: opts, sources } = this.deps;
    if (!rules.enabled) return NO_MOVES;
    const rows = (await this.deps.repo.movableOrders(storageZonesOf(zone, opts.zoneResolution))).filter(
      (m) => dispatchZoneOf(m.order.pickup, opts.zoneResolution, opts.indexResolution) === zone,
    );
    const nowS = Math.floor(nowMs / 1000);
    // the cheap gates first: only orders whose estimate moved enough need their couriers looked up
    const candidates = rows
      .map((m) => ({ m, request: plannedOrder(openOrderEntry(m.order), nowMs, opts.readyTimes) }))
      .filter(({ m, request }) => precheck(skeleton(m, request), rules, nowS) === null);
    if (candidates.length === 0) return NO_MOVES;

    const courierIds = [...new Set(candidates.map((c) => c.m.order.courierId!))];
    const [work, locations] = await Promise.all([
      this.deps.repo.activeForCouriers(courierIds),
      Promise.all(courierIds.map(async (id) => [id, await sources.index.get(id)] as const)),
    ]);
    const where = new Map(locations);
    const travel = opts.travelAt?.(nowMs) ?? opts.travel;
    const assigned: AssignedOrder<LatLng>[] = [];
    for (const { m, request } of candidates) {
      const courierId = m.order.courierId!;
      const loc = where.get(courierId);
      // a courier without a fresh position: where it is is unknown, so nothing to compare
      if (!loc || nowMs - loc.serverTs > opts.staleAfterMs) continue;
      const position = { lat: loc.lat, lng: loc.lng };
      const orders = withPlannedReady(work.get(courierId) ?? [], nowMs, opts.readyTimes);
      const etas = etaThroughStops(nowMs, position, remainingStops(orders, nowMs), travel, opts.service);
      const i = etas.findIndex((s) => s.kind === 'pickup' && s.orderIds.includes(m.order.id));
      if (i < 0) continue;
      const legStart = i === 0 ? nowMs : etas[i - 1]!.departAt;
      assigned.push({
        ...skeleton(m, request),
        courierPosition: position,
        arriveAt: Math.round(etas[i]!.arriveAt / 1000),
        legS: Math.max(0, (etas[i]!.arriveAt - legStart) / 1000),
        sharesPickup: orders.some((o) => o.id !== m.order.id && (o.status === 'assigned' || o.status === 'at_pickup') && samePlace(o.pickup, m.order.pickup)),
      });
    }
    if (assigned.length === 0) return NO_MOVES;
    const couriers = await couriersAround(
      assigned.map((a) => a.order.pickup),
      nowMs,
      sources,
      opts,
    );
    const verdicts = planMoves(assigned, couriers, rules, { now: nowS, travel, service: opts.service, policy: this.deps.policy });
    const moves = verdicts.filter((v): v is Extract<ReassignVerdict, { move: true }> => v.move);
    for (const v of verdicts) if (!v.move) this.deps.log.debug({ zone, orderId: v.orderId, reason: v.reason, gainS: v.gainS }, 'assignment kept');
    if (moves.length === 0) return NO_MOVES;
    if (!(await canCommit())) {
      this.deps.log.warn({ zone, moves: moves.length }, 'dispatch lease lost before the assignment updates: dropped');
      return { moved: 0, conflicts: moves.length, decisions: [] };
    }
    const byId = new Map(assigned.map((a) => [a.order.id, a]));
    const versionOf = new Map(rows.map((r) => [r.order.id, r.order.version]));
    let moved = 0;
    let conflicts = 0;
    const decisions: DispatchDecision[] = [];
    for (const v of moves) {
      const a = byId.get(v.orderId)!;
      const o = a.order;
      const req: MoveRequest = {
        orderId: o.id,
        fromCourierId: v.fromCourierId,
        toCourierId: v.toCourierId,
        expectedVersion: versionOf.get(o.id)!,
        stops: [
          { kind: 'pickup', orderIds: [o.id], lat: o.pickup.lat, lng: o.pickup.lng, eta: v.next.pickupAt * 1000 },
          { kind: 'dropoff', orderIds: [o.id], lat: o.dropoff.lat, lng: o.dropoff.lng, eta: v.next.dropoffAt * 1000 },
        ],
        plannedReadyAt: o.readyAt * 1000,
        reason: v.reason,
        savedS: v.savedS,
        gainS: v.gainS,
        readyChangeS: v.readyChangeS,
        checkCourier: async () => {
          if (await this.deps.isPaused(v.toCourierId)) throw new OfferError('courier_paused', `courier ${v.toCourierId} is paused`, { courierId: v.toCourierId });
        },
      };
      try {
        await this.deps.move(req, ACTOR);
        moved++;
        decisions.push(moveDecision(zone, nowMs, o, v));
      } catch (err) {
        conflicts++;
        const code = (err as { code?: string }).code;
        if (code && CONFLICTS.has(code)) this.deps.log.info({ zone, orderId: o.id, toCourierId: v.toCourierId, code }, 'assignment update dropped: lost a race');
        else this.deps.log.error({ err, zone, orderId: o.id }, 'assignment update failed');
      }
    }
    return { moved, conflicts, decisions };
  }
}

/** The rule's view of a movable order before its courier is looked up. */
function skeleton(m: MovableOrder, request: OrderRequest<LatLng>): AssignedOrder<LatLng> {
  return {
    order: request,
    status: m.order.status === 'at_pickup' ? 'at_pickup' : 'assigned',
    pinned: m.order.pinned,
    courierId: m.order.courierId ?? '',
    courierPosition: m.order.pickup,
    arriveAt: 0,
    legS: 0,
    sharesPickup: false,
    plannedReadyAt: m.plannedReadyAt === null ? null : Math.floor(m.plannedReadyAt / 1000),
    moves: m.moves,
    lastMovedAt: m.lastMovedAt === null ? null : Math.floor(m.lastMovedAt / 1000),
  };
}

function samePlace(a: Order['pickup'], b: Order['pickup']): boolean {
  return Math.abs(a.lat - b.lat) < 1e-6 && Math.abs(a.lng - b.lng) < 1e-6;
}

/** What the decision record says about a move. */
function moveDecision(zone: string, at: number, o: OrderRequest<LatLng>, v: Extract<ReassignVerdict, { move: true }>): DispatchDecision {
  return {
    orderId: o.id,
    at,
    zone,
    decision: 'reassigned',
    courierId: v.toCourierId,
    etaPickupAt: v.next.pickupAt * 1000,
    etaDropoffAt: v.next.dropoffAt * 1000,
    reassigned: {
      reason: v.reason,
      fromCourierId: v.fromCourierId,
      savedS: Math.round(v.savedS),
      gainS: Math.round(v.gainS),
      readyChangeS: Math.round(v.readyChangeS),
    },
    ...decisionReady(o),
  };
}
