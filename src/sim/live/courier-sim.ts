/**
 * One simulated courier app on the real courier socket (/v1/courier): it connects at its shift start
 * and announces the shift (`shift` frame), streams its position, answers every offer — accepts what it
 * can do under the MDRP rules, refuses what it cannot (bundle over several restaurants, pickup after its
 * off_time) — then drives its accepted routes (route-follower.ts) and reports arrived_pickup, picked_up,
 * arrived_dropoff and delivered at the service-clock times the rules give. It leaves at shift end once
 * idle. What it did is its record (routes, moves), from which the evaluator files are written.
 *
 * It also executes what a dispatcher decides, as a real courier app would: an order that shows up in a
 * `task` frame without an offer (assign & pin) is driven like an accepted one (one route per restaurant,
 * queued behind committed work, even past the shift end); an order taken away (`task.changed`:
 * unassigned, re-assigned to another courier, cancelled or failed by others) gets no more status frames.
 *
 * Requests (accept, reject, status) go one at a time and wait for their answer, so the service sees
 * them in order even though the socket handles frames concurrently.
 */
import { ClockTimers } from './clock-timers.js';
import WebSocket from 'ws';
import type { Clock } from '../../clock.js';
import type { Logger } from '../../logger.js';
import type { MdrpCourier, MdrpOrder, MdrpParameters, MdrpPlace } from '../mdrp/instance.js';
import type { Projection } from './projection.js';
import { RouteFollower, type TimedStatus } from './route-follower.js';
import type { Timeline } from './timeline.js';
import type { ExecutedRoute } from '../mdrp/simulate.js';

/** The parts of a `task` frame the courier uses (runtime/courier-tasks.ts TaskFrame). */
interface TaskFrameView {
  readonly type: 'task';
  readonly orders: readonly { id: string; externalId: string; status: string }[];
}

/** The parts of a `task.changed` frame the courier uses (runtime/order-lifecycle.ts CourierTaskChanged). */
interface TaskChangedView {
  readonly type: 'task.changed';
  readonly orderId: string;
  readonly event: string;
  readonly reason?: string | null;
}

/** task.changed events after which an order is no longer this courier's to serve (a dispatcher may hand it to a carrier). */
const TAKEN_AWAY = new Set(['dispatcher_unassigned', 'cancelled', 'failed', 'carrier_requested', 'reassigned']);

/** The parts of an `offer` frame the courier uses (runtime/offers.ts OfferFrame). */
interface OfferFrame {
  readonly type: 'offer';
  readonly offerId: string;
  readonly orderIds: readonly string[];
  readonly orders: readonly { id: string; externalId: string }[];
  readonly stops: readonly { kind: 'pickup' | 'dropoff'; orderIds: readonly string[] }[];
  readonly createdAt: number;
  readonly expiresAt: number;
}

export interface CourierSimStats {
  offers: number;
  accepted: number;
  refused: Record<string, number>;
  /** Accepts the service refused (offer expired or withdrawn meanwhile). */
  acceptFailed: number;
  statusesSent: number;
  /** Status frames answered with an error. */
  statusErrors: number;
  /** Arrivals the service had already detected by geofence (the courier's own report then comes second). */
  arrivalsByGeofence: number;
  positionsSent: number;
  positionsRejected: number;
  /** Service-clock ms between an offer's creation and the courier receiving it. */
  offerLagMs: number[];
  /** Service-clock ms by which status frames left after their rule time (the replay falling behind). */
  statusLagMs: number[];
  /** Orders a dispatcher assigned without an offer, that the courier took up. */
  dispatcherTasks: number;
  /** Orders taken away from the courier (unassigned, re-assigned, cancelled) before it was done. */
  takenAway: number;
}

export interface CourierSimOptions {
  readonly wsUrl: string;
  readonly token: string;
  readonly clock: Clock;
  readonly timeline: Timeline;
  readonly projection: Projection;
  readonly params: MdrpParameters;
  readonly courier: MdrpCourier;
  readonly orders: ReadonlyMap<string, MdrpOrder>;
  readonly restaurants: ReadonlyMap<string, MdrpPlace>;
  /** Service seconds between two position frames (also while idle, so the courier stays fresh). */
  readonly positionEveryS: number;
  /** Capacity announced in the shift frame (MDRP bundles have no size limit; the policy caps bundles). */
  readonly capacity?: number;
  /** Wall ms to wait for an answer to a request before giving up on it. */
  readonly replyTimeoutMs?: number;
  readonly log: Logger;
  /** Every status the courier reported (progress, counting deliveries). */
  readonly onStatus?: (status: TimedStatus) => void;
}

type Reply = { ok: true; frame: Record<string, unknown> } | { ok: false; code: string; message: string };

interface Pending {
  readonly matches: (frame: Record<string, unknown>) => boolean;
  readonly resolve: (reply: Reply) => void;
}

export class SimCourier {
  readonly follower: RouteFollower;
  readonly stats: CourierSimStats = {
    offers: 0,
    accepted: 0,
    refused: {},
    acceptFailed: 0,
    statusesSent: 0,
    statusErrors: 0,
    arrivalsByGeofence: 0,
    positionsSent: 0,
    positionsRejected: 0,
    offerLagMs: [],
    statusLagMs: [],
    dispatcherTasks: 0,
    takenAway: 0,
  };
  /** Resolves once the socket has closed (shift over, or the service went away). */
  readonly done: Promise<void>;

  private socket: WebSocket | null = null;
  private seq = 0;
  private requests: Promise<unknown> = Promise.resolve();
  private pending: Pending | null = null;
  private offers: Promise<unknown> = Promise.resolve();
  private readonly serviceIds = new Map<string, string>();
  /** Service ids of the orders the courier has taken up (offers accepted, dispatcher tasks). */
  private readonly taken = new Set<string>();
  /** Service ids of orders taken away again: their remaining statuses are not sent. */
  private readonly takenAway = new Set<string>();
  private readonly timers: ClockTimers;
  private inFlight = 0;
  private leaving = false;
  private resolveDone!: () => void;
  private readonly log: Logger;

  constructor(private readonly opts: CourierSimOptions) {
    this.follower = new RouteFollower(opts.params, opts.courier);
    this.timers = new ClockTimers(opts.clock);
    this.log = opts.log.child({ courierId: opts.courier.id });
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /** Connects now (the caller schedules this at the shift start); resolves once the shift is announced. */
  async start(): Promise<void> {
    const { opts } = this;
    const socket = new WebSocket(`${opts.wsUrl}/v1/courier`, { headers: { authorization: `Bearer ${opts.token}` } });
    this.socket = socket;
    socket.on('message', (data) => this.onFrame(String(data)));
    socket.on('close', () => this.closed());
    socket.on('error', (err) => this.log.warn({ err }, 'simulated courier socket error'));
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    const shift = await this.request({ type: 'shift', endsAt: opts.timeline.toMs(opts.courier.offTime), capacity: opts.capacity ?? 1000 }, (f) => f.type === 'shift.ack');
    if (!shift.ok) this.log.warn({ code: shift.code, message: shift.message }, 'shift frame refused');
    this.sendPosition();
    this.timers.every(opts.positionEveryS * 1000, () => this.sendPosition());
    this.timers.at(opts.timeline.toMs(opts.courier.offTime), () => this.leaveWhenIdle());
  }

  /** Closes the socket now (the replay is over or aborted). */
  stop(): void {
    this.timers.cancelAll();
    this.socket?.close(1000, 'simulation over');
  }

  private closed(): void {
    this.timers.cancelAll();
    this.pending?.resolve({ ok: false, code: 'closed', message: 'socket closed' });
    this.pending = null;
    this.resolveDone();
  }

  private minuteNow(): number {
    return this.opts.timeline.toMinute(this.opts.clock.now());
  }

  private send(frame: object): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(frame));
  }

  private sendPosition(): void {
    const now = this.opts.clock.now();
    const p = this.opts.projection.toLatLng(this.follower.positionAt(this.opts.timeline.toMinute(now)));
    this.seq++;
    this.stats.positionsSent++;
    this.send({ type: 'loc', seq: this.seq, ts: Math.floor(now), lat: p.lat, lng: p.lng, acc: 5 });
  }

  /** One request at a time; its answer is the next frame `matches` accepts, or an error frame. */
  private request(frame: object, matches: (f: Record<string, unknown>) => boolean): Promise<Reply> {
    const run = this.requests.then(
      () =>
        new Promise<Reply>((resolve) => {
          if (this.socket?.readyState !== WebSocket.OPEN) return resolve({ ok: false, code: 'closed', message: 'socket closed' });
          const timer = setTimeout(() => {
            this.pending = null;
            resolve({ ok: false, code: 'timeout', message: 'no answer' });
          }, this.opts.replyTimeoutMs ?? 30_000);
          this.pending = {
            matches,
            resolve: (reply) => {
              clearTimeout(timer);
              resolve(reply);
            },
          };
          this.send(frame);
        }),
    );
    this.requests = run;
    return run;
  }

  private onFrame(text: string): void {
    let frame: Record<string, unknown>;
    try {
      frame = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return this.log.warn('courier got a frame that is not JSON');
    }
    if (frame.type === 'ack') {
      const rejected = (frame.rejected as unknown[] | undefined)?.length ?? 0;
      if (rejected > 0) {
        this.stats.positionsRejected += rejected;
        this.log.warn({ rejected: frame.rejected }, 'positions rejected');
      }
      return;
    }
    const pending = this.pending;
    if (pending && frame.type === 'error') {
      this.pending = null;
      return pending.resolve({ ok: false, code: String(frame.code), message: String(frame.message) });
    }
    if (pending && pending.matches(frame)) {
      this.pending = null;
      return pending.resolve({ ok: true, frame });
    }
    if (frame.type === 'offer') {
      const offer = frame as unknown as OfferFrame;
      const receivedAt = this.opts.clock.now();
      this.offers = this.offers.then(() => this.answer(offer, receivedAt)).catch((err: unknown) => this.log.error({ err }, 'offer handling failed'));
    } else if (frame.type === 'task') {
      // behind any offer being answered: an accepted offer's orders are known before its task frame is read
      const task = frame as unknown as TaskFrameView;
      this.offers = this.offers.then(() => this.takeUp(task)).catch((err: unknown) => this.log.error({ err }, 'task handling failed'));
    } else if (frame.type === 'task.changed') {
      this.onTaskChanged(frame as unknown as TaskChangedView);
    } else if (frame.type === 'error') {
      this.log.warn({ code: frame.code, message: frame.message }, 'error frame outside a request');
    }
  }

  /**
   * Decides in the minute the offer arrived (as the offline harness executes a round's decisions in
   * the round's minute), queued behind committed work; accepts and commits only once the service
   * confirms, so a late accept (offer expired meanwhile) leaves no trace in the courier's record.
   */
  private async answer(offer: OfferFrame, receivedAt: number): Promise<void> {
    this.stats.offers++;
    this.stats.offerLagMs.push(receivedAt - offer.createdAt);
    const mdrpIdOf = new Map(offer.orders.map((o) => [o.id, o.externalId]));
    const dropOrder = offer.stops.filter((s) => s.kind === 'dropoff').flatMap((s) => s.orderIds);
    const sequence = (dropOrder.length === offer.orderIds.length ? dropOrder : offer.orderIds).map((id) => mdrpIdOf.get(id) ?? id);
    const orders = sequence.map((id) => this.opts.orders.get(id));
    const known = orders.every((o): o is MdrpOrder => o !== undefined);
    const restaurant = known && orders.length > 0 ? this.opts.restaurants.get(orders[0]!.restaurantId) : undefined;
    const decidedAt = Math.floor(this.opts.timeline.toMinute(receivedAt));
    const answer = known ? this.follower.plan(decidedAt, restaurant, orders) : ({ ok: false, reason: 'unknown_order' } as const);
    if (!answer.ok || this.leaving) {
      const reason = answer.ok ? 'shift_over' : answer.reason;
      this.stats.refused[reason] = (this.stats.refused[reason] ?? 0) + 1;
      const reply = await this.request({ type: 'offer.reject', offerId: offer.offerId, reason }, (f) => f.type === 'offer.rejected' && f.offerId === offer.offerId);
      if (!reply.ok) this.log.info({ offerId: offer.offerId, code: reply.code }, 'reject not taken');
      return;
    }
    const reply = await this.request({ type: 'offer.accept', offerId: offer.offerId }, (f) => f.type === 'offer.accepted' && f.offerId === offer.offerId);
    if (!reply.ok) {
      this.stats.acceptFailed++;
      this.log.info({ offerId: offer.offerId, code: reply.code }, 'accept not taken');
      return;
    }
    this.stats.accepted++;
    for (const [serviceId, mdrpId] of mdrpIdOf) this.serviceIds.set(mdrpId, serviceId);
    this.drive(answer.route);
  }

  /** Commits a route and schedules its status frames. */
  private drive(route: ExecutedRoute): void {
    for (const mdrpId of route.orderIds) this.taken.add(this.serviceIds.get(mdrpId)!);
    this.follower.commit(route, this.minuteNow());
    this.inFlight++;
    const statuses = this.follower.statuses(route);
    statuses.forEach((s, i) => this.timers.at(this.opts.timeline.toMs(s.at), () => void this.report(s, i === statuses.length - 1)));
  }

  /**
   * Orders in the task that the courier never took up and that are still before pickup came from a
   * dispatcher (assign & pin): drive them, one route per restaurant, queued behind committed work.
   */
  private takeUp(task: TaskFrameView): void {
    const fresh = task.orders.filter((o) => !this.taken.has(o.id) && !this.takenAway.has(o.id) && (o.status === 'assigned' || o.status === 'at_pickup'));
    if (fresh.length === 0 || this.socket?.readyState !== WebSocket.OPEN) return;
    const byRestaurant = new Map<string, MdrpOrder[]>();
    for (const o of fresh) {
      const mdrp = this.opts.orders.get(o.externalId);
      if (!mdrp) {
        this.log.warn({ orderId: o.id, externalId: o.externalId }, 'task with an order the simulation does not know');
        continue;
      }
      this.serviceIds.set(mdrp.id, o.id);
      byRestaurant.set(mdrp.restaurantId, [...(byRestaurant.get(mdrp.restaurantId) ?? []), mdrp]);
    }
    const decidedAt = Math.floor(this.minuteNow());
    for (const [restaurantId, orders] of byRestaurant) {
      const answer = this.follower.plan(decidedAt, this.opts.restaurants.get(restaurantId), orders, { ignoreShiftEnd: true });
      if (!answer.ok) {
        this.log.warn({ restaurantId, reason: answer.reason }, 'dispatcher task the courier cannot drive');
        continue;
      }
      this.stats.dispatcherTasks += orders.length;
      this.drive(answer.route);
    }
  }

  /** An order taken away from this courier: its remaining statuses are dropped. */
  private onTaskChanged(change: TaskChangedView): void {
    if (!this.taken.has(change.orderId)) return;
    if (TAKEN_AWAY.has(change.event) || (change.event === 'dispatcher_assigned' && change.reason === 'reassigned')) {
      this.taken.delete(change.orderId);
      this.takenAway.add(change.orderId);
      this.stats.takenAway++;
    }
  }

  private async report(s: TimedStatus, lastOfRoute: boolean): Promise<void> {
    const scheduled = this.opts.timeline.toMs(s.at);
    const orderId = this.serviceIds.get(s.orderId)!;
    if (this.takenAway.has(orderId)) return this.routeStep(lastOfRoute);
    const reply = await this.request({ type: 'status', orderId, status: s.status }, (f) => f.type === 'status.ack' && f.orderId === orderId);
    this.stats.statusesSent++;
    this.stats.statusLagMs.push(this.opts.clock.now() - scheduled);
    if (!reply.ok && reply.code === 'illegal_transition' && (s.status === 'arrived_pickup' || s.status === 'arrived_dropoff')) {
      this.stats.arrivalsByGeofence++;
    } else if (!reply.ok) {
      this.stats.statusErrors++;
      this.log.info({ orderId: s.orderId, status: s.status, code: reply.code }, 'status not taken');
    }
    this.opts.onStatus?.(s);
    this.sendPosition();
    this.routeStep(lastOfRoute);
  }

  private routeStep(lastOfRoute: boolean): void {
    if (!lastOfRoute) return;
    this.inFlight--;
    if (this.leaving) this.leaveWhenIdle();
  }

  /** At off_time: leave as soon as the committed work is done. */
  private leaveWhenIdle(): void {
    this.leaving = true;
    // a route still reporting calls back here after its last status
    if (this.inFlight > 0) return;
    if (!this.follower.idleAt(this.minuteNow())) return this.timers.at(this.opts.timeline.toMs(this.follower.freeAt), () => this.leaveWhenIdle());
    void this.requests.then(() => this.stop());
  }
}
