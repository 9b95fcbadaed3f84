/**
 * WebSocket /v1/courier (role courier; the JWT subject is the courier id).
 *
 * Frames in: `loc` (one point) and `locs` (points buffered offline); other frame types are registered by
 * other features on `app.courierFrames`. Every location frame is answered, in order, with
 * `{type:'ack', seq, rejected:[{seq, reason}]}` once accepted points are in Redis; a malformed frame gets
 * `{type:'error', code, message}` and the socket stays open. Frames above WS_MAX_FRAME_BYTES are refused
 * by ws (maxPayload, close 1009). The server pings every WS_PING_INTERVAL_MS and closes a socket silent
 * for WS_IDLE_TIMEOUT_MS (these are transport timeouts in wall-clock time, not simulated time).
 */
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { LocationPoint } from '../../domain/location-filter.js';
import { LocationIndex, locationTtlMs } from '../../store/redis/location-index.js';
import { refreshSlotsOnRedirect } from '../../store/redis/client.js';
import {
  CourierFrameRouter,
  errorFrame,
  FRAME_ERRORS,
  FrameError,
  locsEnvelopeCheck,
  pointCheck,
  type AckFrame,
  type CourierSocketContext,
  type OverloadedFrame,
} from './courier-frames.js';
import { LocationIngest, StoreUnavailableError, type IngestResult, type Rejection } from './location-ingest.js';
import { listenToPrimary, SocketRebalancer, WS_REBALANCE_REFUSED, type RebalanceTarget } from './rebalance.js';

export const WS_IDLE_CLOSE = 4000;

/** The sockets of connected couriers on this node, so other features can push frames (offers, updates). */
export type ConnectionListener = (ctx: CourierSocketContext) => void | Promise<void>;

function notify(listeners: readonly ConnectionListener[], ctx: CourierSocketContext): void {
  for (const listener of listeners) {
    Promise.resolve()
      .then(() => listener(ctx))
      .catch((err: unknown) => ctx.log.error({ err }, 'courier connection listener failed'));
  }
}

export class CourierConnections {
  private readonly byCourier = new Map<string, Set<CourierSocketContext>>();
  private readonly connectListeners: ConnectionListener[] = [];
  private readonly disconnectListeners: ConnectionListener[] = [];

  /** Other features follow sockets opening on this node (orders re-send the current task and offer). */
  onConnect(listener: ConnectionListener): void {
    this.connectListeners.push(listener);
  }

  onDisconnect(listener: ConnectionListener): void {
    this.disconnectListeners.push(listener);
  }

  add(ctx: CourierSocketContext): void {
    let set = this.byCourier.get(ctx.courierId);
    if (!set) this.byCourier.set(ctx.courierId, (set = new Set()));
    set.add(ctx);
    notify(this.connectListeners, ctx);
  }

  remove(ctx: CourierSocketContext): void {
    const set = this.byCourier.get(ctx.courierId);
    if (!set) return;
    set.delete(ctx);
    if (set.size === 0) this.byCourier.delete(ctx.courierId);
    notify(this.disconnectListeners, ctx);
  }

  /** Sends to every socket of the courier on this node; returns how many got it. */
  send(courierId: string, frame: object): number {
    const set = this.byCourier.get(courierId);
    if (!set) return 0;
    for (const ctx of set) ctx.send(frame);
    return set.size;
  }

  isConnected(courierId: string): boolean {
    return this.byCourier.has(courierId);
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Frame type → handler map of the courier socket: register new frame types here. */
    courierFrames: CourierFrameRouter;
    courierConnections: CourierConnections;
    locationIndex: LocationIndex;
    locationIngest: LocationIngest;
    /** WORKERS > 1: moves courier sockets to a replaced worker (rebalance.ts). */
    courierRebalance: SocketRebalancer;
  }
}

function seqOf(raw: unknown): number | null {
  const seq = (raw as { seq?: unknown } | null)?.seq;
  return Number.isSafeInteger(seq) ? (seq as number) : null;
}

/** Splits raw points into schema-valid ones and schema rejections, keeping order. */
function checkPoints(raws: readonly unknown[]): { points: LocationPoint[]; rejected: Rejection[] } {
  const points: LocationPoint[] = [];
  const rejected: Rejection[] = [];
  for (const raw of raws) {
    if (pointCheck.Check(raw)) points.push(raw);
    else rejected.push({ seq: seqOf(raw), reason: 'schema' });
  }
  return { points, rejected };
}

/** The hot path's most common replies, a clean ack and a one-point shed, are written without JSON.stringify. */
function serialize(frame: object): string {
  const f = frame as Partial<AckFrame>;
  if (f.type === 'ack' && f.rejected?.length === 0 && typeof f.seq === 'number') return `{"type":"ack","seq":${f.seq},"rejected":[]}`;
  const o = frame as Partial<OverloadedFrame>;
  if (o.type === 'overloaded' && o.seqs?.length === 1 && typeof o.seq === 'number') {
    return `{"type":"overloaded","retryAfterMs":${o.retryAfterMs},"seq":${o.seq},"seqs":[${o.seq}]}`;
  }
  return JSON.stringify(frame);
}

/** The answer to a shed location frame, naming every point in it (none is stored). */
function overloadedFrame(raws: readonly unknown[], retryAfterMs: number): OverloadedFrame {
  const seqs = raws.map(seqOf);
  let seq: number | null = null;
  for (const s of seqs) if (s !== null && (seq === null || s > seq)) seq = s;
  return { type: 'overloaded', retryAfterMs, seq, seqs };
}

/**
 * Replies to one socket within one event-loop turn leave in one write: the socket is corked at its first
 * reply of the turn and uncorked in the turn's check phase (setImmediate), so the acks of a flush and the
 * answers to frames read together (a loop running late reads several frames per socket at once) cost one
 * `writev` instead of one each — the largest single cost of the location path, and of shedding. Nothing
 * waits past the current turn. ws has no public cork: its underlying net.Socket (the private `_socket`) is
 * used when it is there and has `cork`, else replies go out one by one as before.
 */
export class ReplyCorker {
  private held = new Set<Socket>();

  hold(ws: WebSocket): void {
    const socket = (ws as unknown as { _socket?: Socket | null })._socket;
    if (!socket || typeof socket.cork !== 'function' || this.held.has(socket)) return;
    if (this.held.size === 0) setImmediate(this.release);
    socket.cork();
    this.held.add(socket);
  }

  private readonly release = (): void => {
    const held = this.held;
    this.held = new Set();
    for (const socket of held) socket.uncork();
  };
}

/**
 * Shed answers of one socket are held up to SHED_HOLD_MS (at most a quarter of the advertised retry delay) and
 * leave together in one write: past capacity every shed frame still costs a read and an answer, and the
 * answer's `writev` was the largest cost of shedding, so shedding freed little CPU and the turns stayed long
 * for the accepted points. A socket's answers held together are those of frames shed within one window;
 * anything else the socket must send (an ack, an error, a pushed offer) first releases what is held, so
 * replies keep their order, and an idle socket's are released by a sweep at most 1.5 windows late.
 */
export const SHED_HOLD_MS = 200;

/** Sockets holding shed answers, released when their window ends (one sweep timer for all). */
class HeldAnswers {
  private readonly due = new Map<() => void, number>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly holdMs: number) {}

  add(release: () => void): number {
    const until = performance.now() + this.holdMs;
    this.due.set(release, until);
    if (!this.timer) this.schedule();
    return until;
  }

  delete(release: () => void): void {
    this.due.delete(release);
  }

  private schedule(): void {
    this.timer = setTimeout(this.sweep, Math.max(1, Math.round(this.holdMs / 2)));
    this.timer.unref();
  }

  private readonly sweep = (): void => {
    this.timer = null;
    const now = performance.now();
    for (const [release, until] of this.due) if (until <= now) release();
    if (this.due.size > 0) this.schedule();
  };

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

interface SocketState {
  ctx: CourierSocketContext;
  socket: WebSocket;
  lastSeen: number;
}

export const courierSocket = fp(
  async function courierSocket(app: FastifyInstance) {
    const { config } = app;
    const index = new LocationIndex(app.redis, config.h3Resolution, {
      ttlMs: locationTtlMs(config.staleAfterMs, config.retentionDays * 86_400_000),
      historyStreams: config.historyStreams,
    });
    const ingest = new LocationIngest(
      index,
      {
        maxSpeedKmh: config.maxSpeedKmh,
        maxAccuracyM: config.maxAccuracyM,
        maxFutureSkewMs: config.maxFutureSkewMs,
        retentionMs: config.retentionDays * 86_400_000,
      },
      app.clock,
      (err, courierIds) => {
        app.log.error({ err, couriers: courierIds.length }, 'location write failed');
        refreshSlotsOnRedirect(app.redis, err);
      },
    );
    const router = new CourierFrameRouter();
    const connections = new CourierConnections();
    app.decorate('locationIndex', index);
    app.decorate('locationIngest', ingest);
    app.decorate('courierFrames', router);
    app.decorate('courierConnections', connections);

    const replies = new WeakMap<CourierSocketContext, (result: IngestResult | Promise<IngestResult>) => void>();
    /** Per socket: hold one shed answer (see SHED_HOLD_MS). */
    const holders = new WeakMap<CourierSocketContext, (frame: object) => void>();
    const heldAnswers = new HeldAnswers(Math.min(SHED_HOLD_MS, Math.floor(config.overloadRetryAfterMs / 4)));
    const submit = (ctx: CourierSocketContext, points: LocationPoint[], rejected: Rejection[]) => {
      replies.get(ctx)?.(ingest.ingest(ctx.courierId, points, rejected));
    };
    // Overloaded: a location frame is answered at once and not queued (ctx.send keeps the reply order).
    const { overload } = app;
    const maxBacklog = config.overloadMaxFlushBacklog;
    if (maxBacklog > 0) overload.addSource('flush_backlog', () => ingest.backlog() > maxBacklog);
    const shed = (ctx: CourierSocketContext, raws: readonly unknown[]) => {
      overload.count('location_frame', raws.length);
      const frame = overloadedFrame(raws, overload.retryAfterMs);
      const hold = holders.get(ctx);
      if (hold) hold(frame);
      else ctx.send(frame);
    };
    router.register('loc', (ctx, frame) => {
      if (overload.isOverloaded()) return shed(ctx, [frame]);
      const { points, rejected } = checkPoints([frame]);
      submit(ctx, points, rejected);
    });
    router.register('locs', (ctx, frame) => {
      if (!locsEnvelopeCheck.Check(frame)) {
        throw new FrameError(FRAME_ERRORS.badFrame, 'A "locs" frame needs "points": an array of at most 10000 points');
      }
      if (overload.isOverloaded()) return shed(ctx, frame.points);
      const { points, rejected } = checkPoints(frame.points);
      submit(ctx, points, rejected);
    });

    const sockets = new Set<SocketState>();
    const corker = new ReplyCorker();

    // WORKERS > 1: the primary asks an over-share worker to hand sockets to a replaced one (rebalance.ts).
    const openSockets: RebalanceTarget = {
      count() {
        let n = 0;
        for (const s of sockets) if (s.socket.readyState === s.socket.OPEN) n++;
        return n;
      },
      closeOne(code, reason) {
        for (const s of sockets) {
          if (s.socket.readyState !== s.socket.OPEN) continue;
          s.ctx.log.info({ code }, 'courier socket asked to reconnect (rebalancing)');
          s.socket.close(code, reason);
          setTimeout(() => s.socket.terminate(), 1000).unref();
          return true;
        }
        return false;
      },
    };
    const rebalancer = new SocketRebalancer(openSockets, { spreadMs: config.workerRebalanceSpreadMs, log: app.log });
    app.decorate('courierRebalance', rebalancer);
    const stopListening = listenToPrimary(rebalancer, openSockets);
    app.addHook('onClose', async () => stopListening());

    app.get('/v1/courier', { websocket: true, config: { roles: ['courier'] } }, (socket, request) => {
      if (rebalancer.refuse()) {
        request.log.debug('courier upgrade refused: this worker is handing sockets to another one');
        socket.close(WS_REBALANCE_REFUSED, 'rebalancing: try again');
        return;
      }
      const courierId = request.user.sub;
      const log = request.log.child({ courierId });
      const sendNow = (frame: object) => {
        if (socket.readyState !== socket.OPEN) return;
        corker.hold(socket);
        socket.send(serialize(frame));
      };
      // Replies leave in the order frames arrived, even though acks wait for Redis and errors do not:
      // a FIFO of reply slots, filled when ready and sent from the head. No promise per frame.
      const queue: { frame: object | null }[] = [];
      const drainQueue = () => {
        while (queue.length > 0 && queue[0].frame !== null) sendNow(queue.shift()!.frame!);
      };
      const failed = (err: unknown) => {
        if (err instanceof StoreUnavailableError) return errorFrame(FRAME_ERRORS.storeUnavailable, 'Points not stored, send them again');
        log.error({ err }, 'location frame failed');
        return errorFrame(FRAME_ERRORS.internal, 'Frame could not be processed');
      };
      // Shed answers held for one write (SHED_HOLD_MS); released before anything else this socket sends.
      let held: object[] | null = null;
      let heldUntil = 0;
      const deliver = (frame: object) => (queue.length === 0 ? sendNow(frame) : void queue.push({ frame }));
      const release = () => {
        if (held === null) return;
        const frames = held;
        held = null;
        heldAnswers.delete(release);
        for (const frame of frames) deliver(frame);
      };
      const hold = (frame: object) => {
        if (held !== null && performance.now() >= heldUntil) release();
        if (held === null) {
          held = [];
          heldUntil = heldAnswers.add(release);
        }
        held.push(frame);
      };
      const reply = (result: IngestResult | Promise<IngestResult>) => {
        release();
        if (queue.length === 0 && !(result instanceof Promise) && result.stored === null) return sendNow(result.ack);
        const slot: { frame: object | null } = { frame: null };
        queue.push(slot);
        const fill = (frame: object) => {
          slot.frame = frame;
          drainQueue();
        };
        const settle = (r: IngestResult) => (r.stored ? r.stored.onDone((err) => fill(err ? failed(err) : r.ack)) : fill(r.ack));
        if (result instanceof Promise) result.then(settle, (err: unknown) => fill(failed(err)));
        else settle(result);
      };
      const ctx: CourierSocketContext = {
        courierId,
        log,
        send: (frame) => {
          release();
          deliver(frame);
        },
      };
      replies.set(ctx, reply);
      holders.set(ctx, hold);
      const state: SocketState = { ctx, socket, lastSeen: Date.now() };

      // Listeners first and synchronously: frames may arrive before any await would return.
      socket.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
        state.lastSeen = Date.now();
        const text = Buffer.isBuffer(data)
          ? data.toString('utf8')
          : Array.isArray(data)
            ? Buffer.concat(data).toString('utf8')
            : Buffer.from(data).toString('utf8');
        router.dispatch(ctx, text);
      });
      socket.on('pong', () => {
        state.lastSeen = Date.now();
      });
      socket.on('close', () => {
        held = null;
        heldAnswers.delete(release);
        sockets.delete(state);
        connections.remove(ctx);
        ingest.detach(courierId);
      });
      sockets.add(state);
      connections.add(ctx);
      // Frames that arrive while the state loads wait inside ingest (in order).
      ingest.attach(courierId).then(
        () => index.ensureStatus(courierId),
        (err: unknown) => log.error({ err }, 'could not load courier state'),
      ).catch((err: unknown) => log.error({ err }, 'could not set courier status'));
    });

    // One timer for all sockets: ping the live ones, close the silent ones.
    const heartbeat = setInterval(() => {
      const now = Date.now();
      for (const s of sockets) {
        if (now - s.lastSeen > config.wsIdleTimeoutMs) {
          s.ctx.log.info({ idleMs: now - s.lastSeen }, 'courier socket idle, closing');
          s.socket.close(WS_IDLE_CLOSE, 'idle timeout');
          setTimeout(() => s.socket.terminate(), 1000).unref();
          sockets.delete(s);
        } else if (s.socket.readyState === s.socket.OPEN) {
          s.socket.ping();
        }
      }
    }, Math.min(config.wsPingIntervalMs, Math.max(50, Math.floor(config.wsIdleTimeoutMs / 2))));
    heartbeat.unref();
    app.addHook('onClose', async () => {
      clearInterval(heartbeat);
      heldAnswers.stop();
    });
    app.drainers.add('location-ingest', () => ingest.drain());
  },
  { name: 'dispatchd-courier-socket', fastify: '5.x', dependencies: ['dispatchd-core', 'dispatchd-auth', 'dispatchd-websocket', 'dispatchd-overload'] },
);
