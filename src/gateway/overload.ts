/**
 * Overload is a state, not a surprise: past configurable limits on this process's own load the node
 * sheds new work explicitly instead of queueing it.
 *
 * - Signals: event-loop delay, event-loop utilisation and heap used, measured by @fastify/under-pressure
 *   (sampled every OVERLOAD_SAMPLE_MS), plus pressure sources other features add with `addSource` — the
 *   location ingest adds its Redis write backlog (points buffered or in flight, read synchronously on every
 *   frame, and polled by under-pressure as its custom health check so HTTP writes see it too).
 * - HTTP writes (POST/PUT/PATCH/DELETE) get `503 {"code":"overloaded"}` + `Retry-After`; reads, /healthz,
 *   /readyz and /metrics keep answering (under-pressure's pressureHandler lets everything else through).
 * - New WebSocket upgrades are accepted and closed at once with 1013 (try again later), before auth and
 *   before the route's handler runs.
 * - Location frames are answered `overloaded` by the courier socket (courier.ts) without being stored.
 * Each of the limits is off at 0. Every shed is counted (`overload_shed_total{kind}`).
 */
import fp from 'fastify-plugin';
import underPressure from '@fastify/under-pressure';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { WebSocket } from 'ws';

export const WS_TRY_AGAIN_LATER = 1013;
export const SHED_KINDS = ['http', 'location_frame', 'ws_upgrade'] as const;
export type ShedKind = (typeof SHED_KINDS)[number];

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** under-pressure's names of its checks → ours (logs, details). */
const REASONS: Record<string, string> = {
  eventLoopDelay: 'event_loop_delay',
  eventLoopUtilization: 'event_loop_utilization',
  heapUsedBytes: 'heap',
  rssBytes: 'rss',
  healthCheck: 'pressure_source',
};

export interface OverloadLimits {
  maxEventLoopDelayMs: number;
  maxElu: number;
  maxHeapMb: number;
  sampleMs: number;
  retryAfterMs: number;
}

/** The node's overload state and what it shed (plain integers, read by the metrics at scrape time). */
export class Overload {
  readonly shed: Record<ShedKind, number> = { http: 0, location_frame: 0, ws_upgrade: 0 };
  /** Location points in shed frames (not stored; the courier app resends them). */
  shedPoints = 0;
  /** The measured signal over its limit at the last sample (event_loop_delay, event_loop_utilization, heap), or null. */
  measured: string | null = null;
  private readonly sources: { name: string; over: () => boolean }[] = [];

  constructor(readonly retryAfterMs: number) {}

  /** A pressure source: `over()` is called on every location frame, so it must be a cheap synchronous read. */
  addSource(name: string, over: () => boolean): void {
    this.sources.push({ name, over });
  }

  /** Name of the first pressure source over its limit, or null. */
  sourceOver(): string | null {
    for (const s of this.sources) if (s.over()) return s.name;
    return null;
  }

  isOverloaded(): boolean {
    return this.measured !== null || this.sourceOver() !== null;
  }

  count(kind: ShedKind, points = 0): void {
    this.shed[kind]++;
    this.shedPoints += points;
  }
}

/** Which measured limit (as sampled by under-pressure) is exceeded, checked in under-pressure's order. */
export function measuredOver(
  usage: { eventLoopDelay: number; heapUsed: number; eventLoopUtilized: number },
  limits: OverloadLimits,
): string | null {
  if (limits.maxEventLoopDelayMs > 0 && usage.eventLoopDelay > limits.maxEventLoopDelayMs) return 'event_loop_delay';
  if (limits.maxHeapMb > 0 && usage.heapUsed > limits.maxHeapMb * 1048576) return 'heap';
  if (limits.maxElu > 0 && usage.eventLoopUtilized > limits.maxElu) return 'event_loop_utilization';
  return null;
}

declare module 'fastify' {
  interface FastifyInstance {
    overload: Overload;
  }
}

function overloadedBody(reason: string, retryAfterS: number) {
  return { code: 'overloaded', message: `Service overloaded, retry in ${retryAfterS} s`, details: { reason, retryAfterS } };
}

export const overloadPlugin = fp(
  async function overloadPlugin(app: FastifyInstance) {
    const c = app.config;
    const limits: OverloadLimits = {
      maxEventLoopDelayMs: c.overloadMaxEventLoopDelayMs,
      maxElu: c.overloadMaxElu,
      maxHeapMb: c.overloadMaxHeapMb,
      sampleMs: c.overloadSampleMs,
      retryAfterMs: c.overloadRetryAfterMs,
    };
    const overload = new Overload(limits.retryAfterMs);
    app.decorate('overload', overload);
    const retryAfterS = Math.max(1, Math.ceil(limits.retryAfterMs / 1000));

    await app.register(underPressure, {
      maxEventLoopDelay: limits.maxEventLoopDelayMs,
      maxEventLoopUtilization: limits.maxElu,
      // the recent utilisation, not the average since start
      eventLoopUtilizationMode: 'interval',
      maxHeapUsedBytes: limits.maxHeapMb * 1024 * 1024,
      sampleInterval: limits.sampleMs,
      // the sources other features add later (the ingest backlog), polled for the HTTP path
      healthCheck: async () => overload.sourceOver() === null,
      healthCheckInterval: limits.sampleMs,
      retryAfter: retryAfterS,
      pressureHandler: (request: FastifyRequest, reply: FastifyReply, type: string) => {
        if (!WRITE_METHODS.has(request.method)) return; // reads, health, metrics, upgrades: served
        overload.count('http');
        request.log.debug({ reason: REASONS[type] ?? type }, 'write shed: overloaded');
        void reply.code(503).header('retry-after', String(retryAfterS));
        // a returned value is sent by under-pressure (and the route is not run)
        return overloadedBody(REASONS[type] ?? type, retryAfterS) as never;
      },
    });

    // New sockets while overloaded: completed and closed with 1013 before auth and the route handler.
    app.addHook('onRoute', (route: RouteOptions) => {
      if (!(route as { websocket?: boolean }).websocket) return;
      const inner = route.handler as unknown as (this: unknown, socket: WebSocket, request: FastifyRequest) => unknown;
      const guarded = function (this: unknown, socket: WebSocket, request: FastifyRequest) {
        if (overload.isOverloaded()) {
          overload.count('ws_upgrade');
          socket.close(WS_TRY_AGAIN_LATER, 'overloaded');
          return;
        }
        return inner.call(this, socket, request);
      };
      route.handler = guarded as unknown as RouteOptions['handler'];
    });

    // under-pressure's samples → the state the sockets read (its isUnderPressure() would also include the
    // polled health check, which lags the sources read directly). Entering and leaving is logged once each.
    let was = false;
    const watch = setInterval(() => {
      overload.measured = measuredOver(app.memoryUsage(), limits);
      const now = overload.isOverloaded();
      if (now === was) return;
      was = now;
      const usage = app.memoryUsage();
      const state = {
        eventLoopDelayMs: Math.round(usage.eventLoopDelay),
        elu: Math.round(usage.eventLoopUtilized * 100) / 100,
        heapMb: Math.round(usage.heapUsed / 1048576),
        measured: overload.measured,
        source: overload.sourceOver(),
        shed: overload.shed,
      };
      if (now) app.log.warn(state, 'overloaded: shedding writes, location frames and new sockets');
      else app.log.info(state, 'no longer overloaded');
    }, limits.sampleMs);
    watch.unref();
    app.addHook('onClose', async () => clearInterval(watch));
  },
  { name: 'dispatchd-overload', fastify: '5.x', dependencies: ['dispatchd-core'] },
);
