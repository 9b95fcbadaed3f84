/**
 * Replays one MDRP instance through a running service: the stores place (and ready) orders over HTTP,
 * each courier connects over the courier socket at its shift start and does what it is offered, all
 * on the clock the service runs on. Ends when every order is delivered, or when every courier's shift
 * is over and its work done. The couriers' record is turned into the offline harness's SimResult, so
 * the same solution writer, checker and metrics apply.
 */
import type { Clock } from '../../clock.js';
import type { Logger } from '../../logger.js';
import type { MdrpInstance, MdrpOrder } from '../mdrp/instance.js';
import type { ExecutedRoute, OrderOutcome, SimResult } from '../mdrp/simulate.js';
import type { Move } from '../mdrp/rules.js';
import { SimCourier } from './courier-sim.js';
import type { Projection } from './projection.js';
import { StoreSim } from './store-sim.js';
import type { Timeline } from './timeline.js';

export interface ReplayProgress {
  /** Service clock, minute of the instance day. */
  readonly minute: number;
  readonly placed: number;
  readonly delivered: number;
  readonly couriersOnline: number;
}

export interface LiveReplayOptions {
  readonly instance: MdrpInstance;
  readonly baseUrl: string;
  readonly wsUrl: string;
  readonly clock: Clock;
  readonly token: (role: 'courier' | 'store', sub: string) => string;
  readonly timeline: Timeline;
  readonly projection: Projection;
  readonly readyKnown: boolean;
  /** Service seconds between position frames of a courier. */
  readonly positionEveryS: number;
  readonly log: Logger;
  readonly onProgress?: (p: ReplayProgress) => void;
  /** Wall ms between progress reports and end checks. */
  readonly pollMs?: number;
  /** Stops the replay early (demo Ctrl-C). */
  readonly signal?: AbortSignal;
  /** Rounds and solve times, when the caller follows the service's dispatcher. */
  readonly rounds?: () => { rounds: number; solveMs: readonly number[] };
}

export interface LiveReplayResult {
  readonly result: SimResult;
  readonly couriers: readonly SimCourier[];
  readonly stores: StoreSim;
  /** MDRP order id → couriers that executed it (more than one would be a double assignment). */
  readonly executedBy: ReadonlyMap<string, readonly string[]>;
  readonly wallMs: number;
  /** Service-clock ms the replay covered (from its start to its end). */
  readonly serviceMs: number;
  /** True when stopped by the signal before the day was over. */
  readonly aborted: boolean;
}

export async function runLiveReplay(opts: LiveReplayOptions): Promise<LiveReplayResult> {
  const { instance, clock, timeline, log } = opts;
  const started = Date.now();
  const serviceStart = clock.now();
  const orders = new Map<string, MdrpOrder>(instance.orders.map((o) => [o.id, o]));
  const delivered = new Set<string>();
  let placed = 0;
  const stores = new StoreSim({
    baseUrl: opts.baseUrl,
    clock,
    timeline,
    projection: opts.projection,
    instance,
    tokenFor: (restaurantId) => opts.token('store', restaurantId),
    readyKnown: opts.readyKnown,
    log,
    onPlaced: () => placed++,
  });
  const couriers: SimCourier[] = [];
  const online = new Set<SimCourier>();
  const cancels: (() => void)[] = [];
  for (const c of instance.couriers) {
    const startAt = timeline.toMs(c.onTime);
    cancels.push(
      clock.setTimeout(() => {
        const sim = new SimCourier({
          wsUrl: opts.wsUrl,
          token: opts.token('courier', c.id),
          clock,
          timeline,
          projection: opts.projection,
          params: instance.params,
          courier: c,
          orders,
          restaurants: instance.restaurants,
          positionEveryS: opts.positionEveryS,
          log,
          onStatus: (s) => {
            if (s.status === 'delivered') delivered.add(s.orderId);
          },
        });
        couriers.push(sim);
        online.add(sim);
        void sim.done.then(() => online.delete(sim));
        sim.start().catch((err: unknown) => {
          log.error({ err, courierId: c.id }, 'simulated courier could not start');
          sim.stop();
        });
      }, Math.max(0, startAt - clock.now())),
    );
  }
  stores.start();

  const lastOff = Math.max(...instance.couriers.map((c) => c.offTime));
  const lastPlacement = Math.max(...instance.orders.map((o) => o.placementTime));
  const aborted = await new Promise<boolean>((resolve) => {
    const check = () => {
      const minute = timeline.toMinute(clock.now());
      opts.onProgress?.({ minute, placed, delivered: delivered.size, couriersOnline: online.size });
      if (opts.signal?.aborted) return resolve(true);
      const allDelivered = delivered.size === instance.orders.length;
      const dayOver = minute >= lastOff && minute >= lastPlacement && couriers.length === instance.couriers.length && online.size === 0;
      if (allDelivered || dayOver) return resolve(false);
      setTimeout(check, opts.pollMs ?? 250);
    };
    check();
  });
  const serviceMs = clock.now() - serviceStart;
  for (const cancel of cancels) cancel();
  stores.stop();
  await stores.idle();
  for (const c of couriers) c.stop();
  await Promise.all(couriers.map((c) => c.done));

  const { result, executedBy } = simResultOf(instance, couriers, delivered, opts.readyKnown, opts.rounds?.());
  return { result, couriers, stores, executedBy, wallMs: Date.now() - started, serviceMs, aborted };
}

/** The couriers' record as the offline harness's result: routes by assignment minute, outcomes of delivered orders. */
export function simResultOf(
  instance: MdrpInstance,
  couriers: readonly SimCourier[],
  delivered: ReadonlySet<string>,
  readyKnown: boolean,
  rounds?: { rounds: number; solveMs: readonly number[] },
): { result: SimResult; executedBy: Map<string, string[]> } {
  const routes: ExecutedRoute[] = couriers.flatMap((c) => c.follower.routes).sort((a, b) => a.assignedAt - b.assignedAt);
  const outcomes = new Map<string, OrderOutcome>();
  const executedBy = new Map<string, string[]>();
  for (const r of routes) {
    r.orderIds.forEach((id, i) => {
      executedBy.set(id, [...(executedBy.get(id) ?? []), r.courierId]);
      if (delivered.has(id)) outcomes.set(id, { courierId: r.courierId, assignedAt: r.assignedAt, pickupAt: r.timing.pickupAt, dropoffAt: r.timing.dropoffAt[i]! });
    });
  }
  const moves = new Map<string, readonly Move[]>(instance.couriers.map((c) => [c.id, []]));
  let refusedLate = 0;
  for (const c of couriers) {
    moves.set(c.follower.courier.id, c.follower.moves);
    refusedLate += c.stats.refused.after_shift_end ?? 0;
  }
  const undeliveredReasons: Record<string, number> = {};
  for (const o of instance.orders) {
    if (outcomes.has(o.id)) continue;
    const reason = executedBy.has(o.id) ? 'not_delivered_in_time' : 'never_assigned';
    undeliveredReasons[reason] = (undeliveredReasons[reason] ?? 0) + 1;
  }
  const result: SimResult = {
    instance,
    readyKnown,
    routes,
    outcomes,
    moves,
    rounds: rounds?.rounds ?? 0,
    solveMs: rounds?.solveMs ?? [],
    solveCpuMs: [],
    rejectedAssignments: refusedLate,
    etaMismatches: 0,
    undeliveredReasons,
  };
  return { result, executedBy };
}
