/**
 * The dispatch loop: per zone, a round every DISPATCH_INTERVAL_MS of the service clock and
 * DISPATCH_DEBOUNCE_MS after an order there became open (placed, ready, back from an offer), so a burst
 * of orders is collected into one round.
 *
 * A round: take the zone's lease (one node at a time per zone) → snapshot (dispatch-snapshot.ts) →
 * planRound within the round budget → commit each assignment as an offer with a compare-and-set (the
 * orders still at the versions planned with, the courier not paused and without an open offer). A
 * commit that loses a race (a cancel, an override, another node) fails cleanly: it is counted as a
 * conflict and the order stays open for the next round. A round of a zone never overlaps the previous
 * one: a due round finding the last still running is skipped and reported as `overran`.
 */
import type { BaseLogger } from 'pino';
import type { Clock } from '../clock.js';
import { roundDecisions, type DispatchDecision, type FleetNote } from '../dispatch/decisions.js';
import { planRound } from '../dispatch/plan-round.js';
import type { Assignment, Plan, Policy, Snapshot } from '../dispatch/types.js';
import type { LatLng } from '../domain/eta.js';
import { OrderError, type Actor } from '../domain/order.js';
import { OrderStoreError } from '../store/pg/order-repository.js';
import type { Lease } from '../store/redis/zone-lease.js';
import type { RoundInput } from './dispatch-snapshot.js';
import { OfferError, type OfferOptions, type PlannedStop } from './offers.js';
import { NO_MOVES, type ReassignOutcome } from './reassignment.js';

type Logger = Pick<BaseLogger, 'debug' | 'info' | 'warn' | 'error'>;

export interface RoundRecord {
  readonly zone: string;
  /** Service-clock ms when the round started. */
  readonly startedAt: number;
  /** Wall ms of the whole round (snapshot, solve, commits). */
  readonly wallMs: number;
  /** Wall ms of planRound alone. */
  readonly solveMs: number;
  readonly orders: number;
  readonly couriers: number;
  /** Orders the plan assigned. */
  readonly planned: number;
  /** Orders offered (committed). */
  readonly committed: number;
  /** Assignments whose commit lost a race (order changed, courier paused or already under offer). */
  readonly conflicts: number;
  /** The optimizer hit the round budget and returned its best plan so far. */
  readonly truncated: boolean;
  /** Skipped: the previous round of the zone was still running. */
  readonly overran: boolean;
  /** Orders left waiting, per reason code (the round's decisions); absent when the round planned nothing. */
  readonly waiting?: Readonly<Record<string, number>>;
  /** Orders the fleet policy handed to a third-party carrier this round. */
  readonly carrier?: number;
  /** Assignment updates: orders moved to a better courier this round (and moves dropped on a race). */
  readonly reassigned?: number;
  readonly reassignConflicts?: number;
}

/** What the round tells the hybrid-fleet hand-off (runtime/carrier-dispatch.ts). */
export interface FleetRound {
  readonly zone: string;
  readonly at: number;
  readonly snapshot: Snapshot<LatLng>;
  readonly plan: Plan<LatLng>;
  /** The round's decisions before any commit; computed on demand (only rounds with orders in a carrier zone need them). */
  decisions(): readonly DispatchDecision[];
  readonly versions: ReadonlyMap<string, number>;
}

/** Per order of a zone that allows a carrier: the fleet policy's verdict, and whether a carrier took it. */
export type FleetOutcome = FleetNote & { readonly handedOff: boolean };

export interface FleetPort {
  /** Runs the fleet policy on the round's orders and hands the chosen ones to their carrier (before the own offers are committed). */
  handOff(round: FleetRound): Promise<ReadonlyMap<string, FleetOutcome>>;
}

export type RoundListener = (r: RoundRecord) => void;

/** What the dispatcher needs from the rest of the service (ports; the plugin wires the adapters). */
export interface DispatcherPorts {
  readonly clock: Clock;
  readonly log: Logger;
  readonly leases: {
    acquire(zone: string, ttlMs: number): Promise<Lease | null>;
    renew(lease: Lease, ttlMs: number): Promise<boolean>;
    release(lease: Lease): Promise<boolean>;
  };
  /** Dispatch zones with open orders now. */
  zonesWithOpenOrders(): Promise<string[]>;
  roundInput(zone: string, nowMs: number): Promise<RoundInput>;
  offer(courierId: string, orderIds: readonly string[], actor: Actor, opts: OfferOptions): Promise<unknown>;
  isPaused(courierId: string): Promise<boolean>;
  /** Where each round's decisions go (decision-recorder.ts); called after the commits. */
  recordDecisions?(decisions: readonly DispatchDecision[]): Promise<void>;
  /** Hybrid fleet (issue 13): absent when no carrier is configured. */
  readonly fleet?: FleetPort;
  /**
   * Assignment updates (issue 14, runtime/reassignment.ts): after the round's own offers, move assigned
   * orders whose ready estimate changed to a better courier; `canCommit` renews the zone lease.
   */
  reassign?(zone: string, nowMs: number, canCommit: () => Promise<boolean>): Promise<ReassignOutcome>;
}

export interface DispatcherOptions {
  readonly intervalMs: number;
  readonly debounceMs: number;
  readonly policy: Policy;
  /** Offers committed at once (each is one Postgres transaction). */
  readonly commitConcurrency?: number;
}

export const DISPATCHER_ACTOR: Actor = { role: 'system', id: 'dispatcher' };

/** Error codes that mean "the world changed since the snapshot": a conflict, not a failure. */
const CONFLICT_CODES = new Set(['order_changed', 'courier_paused', 'courier_has_open_offer', 'offer_closed', 'illegal_transition', 'version_conflict', 'order_not_found']);

export function isCommitConflict(err: unknown): boolean {
  return (err instanceof OfferError || err instanceof OrderError || err instanceof OrderStoreError) && CONFLICT_CODES.has(err.code);
}

/** The plan's stops as offer stops (plan times are epoch seconds, offers epoch ms). */
export function plannedStops(a: Assignment<LatLng>): PlannedStop[] {
  return a.stops.map((s) => ({ kind: s.kind, orderIds: [...s.orderIds], lat: s.place.lat, lng: s.place.lng, eta: s.serviceAt * 1000 }));
}

/**
 * Time-to-live of a zone's lease for a round budget (DISPATCH_ROUND_BUDGET_MS): long enough for snapshot +
 * solve + commits; a node that dies mid-round frees the zone after this.
 */
export function dispatchLeaseTtlMs(budgetMs: number): number {
  return Math.max(10_000, 4 * budgetMs + 10_000);
}

export class Dispatcher {
  private readonly listeners: RoundListener[] = [];
  private readonly running = new Map<string, Promise<RoundRecord>>();
  /** Zones whose debounce fired while their round was running: one more round when it ends. */
  private readonly rerun = new Set<string>();
  private readonly debounces = new Map<string, () => void>();
  private readonly inflight = new Set<Promise<unknown>>();
  private cancelTick: (() => void) | null = null;
  private started = false;

  constructor(
    private readonly ports: DispatcherPorts,
    private readonly options: DispatcherOptions,
  ) {}

  onRound(listener: RoundListener): void {
    this.listeners.push(listener);
  }

  /** Rounds every interval from now on (and debounced ones after `notifyOpen`). */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.planTick();
  }

  /** Stops planning rounds and waits for those running. */
  async stop(): Promise<void> {
    this.started = false;
    this.cancelTick?.();
    this.cancelTick = null;
    for (const cancel of this.debounces.values()) cancel();
    this.debounces.clear();
    this.rerun.clear();
    while (this.inflight.size) await Promise.allSettled([...this.inflight]);
  }

  /** An order became open in `zone`: a round there soon (debounced; one timer per zone). */
  notifyOpen(zone: string): void {
    if (!this.started || this.debounces.has(zone)) return;
    const cancel = this.ports.clock.setTimeout(() => {
      this.debounces.delete(zone);
      this.trigger(zone, 'debounce');
    }, this.options.debounceMs);
    this.debounces.set(zone, cancel);
  }

  /** Waits until no round is running or planned to run right after (tests). */
  async idle(): Promise<void> {
    while (this.inflight.size) await Promise.allSettled([...this.inflight]);
  }

  /**
   * Runs one round of `zone` now and reports it. If the zone's previous round is still running, or
   * another node holds the zone's lease, nothing runs: the record says `overran`, or has zero orders.
   */
  async runRound(zone: string): Promise<RoundRecord> {
    if (this.running.has(zone)) return this.overran(zone);
    const p = this.round(zone);
    this.running.set(zone, p);
    try {
      return await p;
    } finally {
      this.running.delete(zone);
    }
  }

  private planTick(): void {
    if (!this.started) return;
    this.cancelTick = this.ports.clock.setTimeout(() => {
      this.cancelTick = null;
      this.track(
        this.ports
          .zonesWithOpenOrders()
          .then((zones) => {
            for (const zone of zones) this.trigger(zone, 'interval');
          })
          .catch((err: unknown) => this.ports.log.error({ err }, 'dispatch tick failed')),
      );
      this.planTick();
    }, this.options.intervalMs);
  }

  private trigger(zone: string, cause: 'interval' | 'debounce'): void {
    if (!this.started) return;
    if (this.running.has(zone)) {
      // a debounced round is wanted after the current one; an interval round due now has overrun
      if (cause === 'debounce') this.rerun.add(zone);
      else void this.runRound(zone);
      return;
    }
    this.track(
      this.runRound(zone)
        .catch((err: unknown) => this.ports.log.error({ err, zone }, 'dispatch round failed'))
        .finally(() => {
          if (this.rerun.delete(zone)) this.trigger(zone, 'debounce');
        }),
    );
  }

  private track(p: Promise<unknown>): void {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  private overran(zone: string): RoundRecord {
    const record = { ...emptyRecord(zone, this.ports.clock.now()), overran: true };
    this.ports.log.warn({ zone }, 'dispatch round overran: the previous round of the zone is still running, skipped');
    this.emit(record);
    return record;
  }

  private leaseTtlMs(): number {
    return dispatchLeaseTtlMs(this.options.policy.maxMs);
  }

  private async round(zone: string): Promise<RoundRecord> {
    const { clock, log, leases } = this.ports;
    const startedAt = clock.now();
    const t0 = performance.now();
    const lease = await leases.acquire(zone, this.leaseTtlMs());
    if (!lease) {
      log.debug({ zone }, 'dispatch round skipped: another node holds the zone lease');
      return emptyRecord(zone, startedAt);
    }
    try {
      const input = await this.ports.roundInput(zone, startedAt);
      const { snapshot, versions } = input;
      const renew = () => leases.renew(lease, this.leaseTtlMs());
      if (snapshot.orders.length === 0) {
        const moves = await this.reassign(zone, startedAt, renew);
        await this.recordDecisions(moves.decisions, zone);
        const record = { ...emptyRecord(zone, startedAt), couriers: snapshot.couriers.length, ...movesOf(moves), wallMs: performance.now() - t0 };
        this.emit(record);
        return record;
      }
      const plan = planRound(snapshot, this.options.policy);
      const fleet = await this.fleet({ zone, at: startedAt, snapshot, plan, versions });
      const handedOff = new Set([...fleet].filter(([, f]) => f.handedOff).map(([id]) => id));
      // orders a carrier took leave their own assignment (a bundle keeps its other orders)
      const offers = plan.assignments
        .filter((a) => !a.pinned)
        .map((a) => withoutOrders(a, handedOff))
        .filter((a) => a.orderIds.length > 0);
      const planned = offers.reduce((n, a) => n + a.orderIds.length, 0);
      let committed = 0;
      let conflicts = 0;
      const notCommitted = new Set<string>();
      // the ready time each order is planned with, kept with its offer (assignment updates compare with it)
      const readyOf = new Map(snapshot.orders.map((o) => [o.id, o.readyAt * 1000]));
      if (offers.length > 0 && !(await leases.renew(lease, this.leaseTtlMs()))) {
        log.warn({ zone, planned }, 'dispatch lease lost before commit: plan dropped');
        conflicts = offers.length;
        for (const a of offers) for (const id of a.orderIds) notCommitted.add(id);
      } else {
        const width = this.options.commitConcurrency ?? 8;
        for (let i = 0; i < offers.length; i += width) {
          const batch = offers.slice(i, i + width);
          const results = await Promise.all(batch.map((a) => this.commit(zone, a, versions, readyOf)));
          results.forEach(([ok, n], k) => {
            if (ok) committed += n;
            else {
              conflicts++;
              for (const id of batch[k].orderIds) notCommitted.add(id);
            }
          });
        }
      }
      const moves = await this.reassign(zone, startedAt, renew);
      const decisions = roundDecisions(snapshot, plan, { zone, at: startedAt, notCommitted }).map((d) => withFleet(d, fleet.get(d.orderId)));
      await this.recordDecisions([...decisions, ...moves.decisions], zone);
      const waiting: Record<string, number> = {};
      for (const d of decisions) if (d.reason) waiting[d.reason] = (waiting[d.reason] ?? 0) + 1;
      const record: RoundRecord = {
        zone,
        startedAt,
        wallMs: performance.now() - t0,
        solveMs: plan.summary.solveMs,
        orders: snapshot.orders.length,
        couriers: snapshot.couriers.length,
        planned,
        committed,
        conflicts,
        truncated: plan.summary.truncated,
        overran: false,
        waiting,
        ...(handedOff.size ? { carrier: handedOff.size } : {}),
        ...movesOf(moves),
      };
      if (record.truncated) log.warn({ ...record, budgetMs: this.options.policy.maxMs }, 'dispatch round cut short by its budget');
      else log.debug(record, 'dispatch round');
      this.emit(record);
      return record;
    } finally {
      await leases.release(lease).catch((err: unknown) => log.error({ err, zone }, 'dispatch lease release failed'));
    }
  }

  /** One assignment as an offer; [true, orders] when committed, [false, 0] when it lost a race. */
  private async commit(
    zone: string,
    a: Assignment<LatLng>,
    versions: ReadonlyMap<string, number>,
    readyOf: ReadonlyMap<string, number>,
  ): Promise<[boolean, number]> {
    const expected = new Map(a.orderIds.map((id) => [id, versions.get(id)!]));
    const plannedReady = new Map(a.orderIds.filter((id) => readyOf.has(id)).map((id) => [id, readyOf.get(id)!]));
    try {
      await this.ports.offer(a.courierId, a.orderIds, DISPATCHER_ACTOR, {
        expectedVersions: expected,
        stops: plannedStops(a),
        plannedReady,
        checkCourier: async () => {
          if (await this.ports.isPaused(a.courierId)) throw new OfferError('courier_paused', `courier ${a.courierId} is paused`, { courierId: a.courierId });
        },
      });
      return [true, a.orderIds.length];
    } catch (err) {
      if (isCommitConflict(err)) {
        this.ports.log.info({ zone, courierId: a.courierId, orderIds: a.orderIds, code: (err as { code: string }).code }, 'dispatch commit conflict: orders stay open');
      } else {
        this.ports.log.error({ err, zone, courierId: a.courierId, orderIds: a.orderIds }, 'dispatch commit failed');
      }
      return [false, 0];
    }
  }

  /** Assignment updates after the round's own offers; a failure there never fails the round. */
  private async reassign(zone: string, at: number, canCommit: () => Promise<boolean>): Promise<ReassignOutcome> {
    if (!this.ports.reassign) return NO_MOVES;
    try {
      return await this.ports.reassign(zone, at, canCommit);
    } catch (err) {
      this.ports.log.error({ err, zone }, 'assignment updates failed: the round keeps its assignments');
      return NO_MOVES;
    }
  }

  /** The fleet policy and carrier hand-offs; a failure there leaves every order to the own fleet. */
  private async fleet(round: Omit<FleetRound, 'decisions'>): Promise<ReadonlyMap<string, FleetOutcome>> {
    if (!this.ports.fleet) return new Map();
    try {
      const decisions = () => roundDecisions(round.snapshot, round.plan, { zone: round.zone, at: round.at });
      return await this.ports.fleet.handOff({ ...round, decisions });
    } catch (err) {
      this.ports.log.error({ err, zone: round.zone }, 'carrier hand-off failed: the round stays with the own fleet');
      return new Map();
    }
  }

  /** Decisions are an explanation, never a reason to fail a round: errors are logged. */
  private async recordDecisions(decisions: readonly DispatchDecision[], zone: string): Promise<void> {
    if (!this.ports.recordDecisions) return;
    try {
      await this.ports.recordDecisions(decisions);
    } catch (err) {
      this.ports.log.error({ err, zone }, 'dispatch decisions not recorded');
    }
  }

  private emit(record: RoundRecord): void {
    for (const listener of this.listeners) {
      try {
        listener(record);
      } catch (err) {
        this.ports.log.error({ err }, 'round listener failed');
      }
    }
  }
}

/** The assignment without the orders a carrier took (their stops dropped). */
function withoutOrders(a: Assignment<LatLng>, gone: ReadonlySet<string>): Assignment<LatLng> {
  if (!a.orderIds.some((id) => gone.has(id))) return a;
  const stops = a.stops.map((s) => ({ ...s, orderIds: s.orderIds.filter((id) => !gone.has(id)) })).filter((s) => s.orderIds.length > 0);
  return { ...a, orderIds: a.orderIds.filter((id) => !gone.has(id)), stops };
}

/** A decision with the fleet policy's verdict; an order a carrier took is decided `carrier`. */
function withFleet(d: DispatchDecision, f: FleetOutcome | undefined): DispatchDecision {
  if (!f) return d;
  const { handedOff, ...note } = f;
  if (handedOff) return { orderId: d.orderId, at: d.at, zone: d.zone, decision: 'carrier', fleet: note };
  return { ...d, fleet: note };
}

function movesOf(m: ReassignOutcome): { reassigned?: number; reassignConflicts?: number } {
  return { ...(m.moved ? { reassigned: m.moved } : {}), ...(m.conflicts ? { reassignConflicts: m.conflicts } : {}) };
}

function emptyRecord(zone: string, startedAt: number): RoundRecord {
  return { zone, startedAt, wallMs: 0, solveMs: 0, orders: 0, couriers: 0, planned: 0, committed: 0, conflicts: 0, truncated: false, overran: false };
}
