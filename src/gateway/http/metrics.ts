/**
 * GET /metrics: the Prometheus text exposition of `app.metrics` (runtime/metrics.ts).
 * Needs a dispatcher or admin bearer token, or none when METRICS_PUBLIC=true.
 *
 * This plugin wires the metrics to what already exists and reads it at scrape time: the plain counters
 * of the ingest, offers, webhooks and order lifecycle, the open WebSockets (classified by path when
 * they open), Redis/Postgres pings, the history stream and the open-order pool.
 */
import type { IncomingMessage } from 'node:http';
import fp from 'fastify-plugin';
import type { FastifyContextConfig, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { DEAD_LETTER_STREAM, HISTORY_GROUP } from '../../runtime/history-sink.js';
import { Metrics, recordRound, SOCKET_KINDS, type HistoryLag, type SocketKind } from '../../runtime/metrics.js';
import { batch, type BatchCommand } from '../../store/redis/batch.js';
import { isCluster } from '../../store/redis/client.js';
import { historyStreamKeys, knownHistoryStreams, resolveHistoryStreams } from '../../store/redis/history-streams.js';
import { liveCouriers } from '../../runtime/console-state.js';
import { errorResponses } from './common-schemas.js';
import { offeredCouriers } from '../../store/pg/console-queries.js';
import { fleetKpiCounts } from '../../store/pg/kpi-queries.js';
import { fleetKpis } from '../../domain/fleet-kpis.js';
import { KPI_WINDOW_MS } from '../../domain/kpis.js';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics;
  }
}

const SOCKET_PATHS: readonly [string, SocketKind][] = [
  ['/v1/courier', 'courier'],
  ['/v1/store', 'store'],
  ['/v1/track/', 'track'],
  ['/v1/console', 'console'],
];

export function socketKindOf(url: string | undefined): SocketKind {
  const path = (url ?? '').split('?')[0];
  for (const [prefix, kind] of SOCKET_PATHS) {
    if (path === prefix || (prefix.endsWith('/') ? path.startsWith(prefix) : path.startsWith(prefix + '/'))) return kind;
  }
  return 'other';
}

/**
 * Length, pending count and oldest entry over every history stream (configured, registered, legacy), and
 * the dead letters: one round trip for the stream list, one batch (per node on a cluster) for the rest.
 */
async function historyLag(app: FastifyInstance): Promise<HistoryLag> {
  const configured = historyStreamKeys(resolveHistoryStreams(app.config.historyStreams, isCluster(app.redis)));
  const streams = await knownHistoryStreams(app.redis, configured);
  const commands: BatchCommand[] = [['time'], ['xlen', DEAD_LETTER_STREAM]];
  for (const s of streams) commands.push(['xlen', s], ['xpending', s, HISTORY_GROUP], ['xrange', s, '-', '+', 'COUNT', 1]);
  const replies = await batch(app.redis, commands);
  const [time, dead] = replies;
  let entries = 0;
  let pendingCount = 0;
  let oldestMs: number | null = null;
  for (let i = 2; i < replies.length; i += 3) {
    const [len, pending, oldest] = replies.slice(i, i + 3);
    if (len[0]) throw len[0];
    entries += Number(len[1]);
    // no group yet (the sink has not started): nothing is pending
    if (!pending[0]) pendingCount += Number((pending[1] as [number, ...unknown[]])[0] ?? 0);
    const first = oldest[0] ? [] : (oldest[1] as [string, string[]][]);
    if (first.length) {
      const ms = Number(first[0][0].split('-')[0]);
      if (oldestMs === null || ms < oldestMs) oldestMs = ms;
    }
  }
  let oldestAgeMs: number | null = null;
  if (oldestMs !== null && !time[0]) {
    // stream ids carry Redis' own time (ms): compare with Redis' clock, not this node's
    const [sec, micro] = time[1] as [string, string];
    oldestAgeMs = Number(sec) * 1000 + Math.floor(Number(micro) / 1000) - oldestMs;
  }
  return { entries, pending: pendingCount, oldestAgeMs, deadLetters: dead[0] ? 0 : Number(dead[1]) };
}

export const metricsPlugin = fp(
  async function metricsPlugin(app: FastifyInstance) {
    const kinds = new WeakMap<WebSocket, SocketKind>();
    app.websocketServer.on('connection', (socket: WebSocket, request: IncomingMessage) => kinds.set(socket, socketKindOf(request.url)));

    const metrics = new Metrics({
      ingest: app.locationIngest.stats,
      offers: app.orders.offers.stats,
      webhooks: app.orders.webhooks.stats,
      orders: app.orders.lifecycle.stats,
      sockets() {
        const counts = Object.fromEntries(SOCKET_KINDS.map((k) => [k, 0])) as Record<SocketKind, number>;
        for (const socket of app.websocketServer.clients) {
          if (socket.readyState === socket.OPEN) counts[kinds.get(socket) ?? 'other']++;
        }
        return counts;
      },
      pingRedis: () => app.redis.ping(),
      pingPostgres: () => app.db.query('select 1'),
      historyLag: () => historyLag(app),
      async openOrderPlacedAt() {
        const zones = await app.orders.pool.zones();
        const snapshots = await Promise.all(zones.map((zone) => app.orders.pool.snapshot(zone)));
        return snapshots.flatMap((entries) => entries.map((e) => e.placedAt));
      },
      async courierCounts() {
        const deps = { redis: app.redis, db: app.db, index: app.locationIndex, clock: app.clock, staleAfterMs: app.config.staleAfterMs };
        const couriers = await liveCouriers(deps, app.clock.now(), await offeredCouriers(app.db));
        const counts = { offline: 0, paused: 0, free: 0, busy: 0 };
        for (const c of couriers) counts[c.status]++;
        return counts;
      },
      now: () => app.clock.now(),
      overload: app.overload,
      ingestBacklog: () => app.locationIngest.backlog(),
      rebalance: app.courierRebalance.stats,
      async fleetKpis() {
        const now = app.clock.now();
        return fleetKpis(await fleetKpiCounts(app.db, now - KPI_WINDOW_MS, now + 1), app.config.currency);
      },
    });
    app.locationIngest.onFlush((seconds) => metrics.observeFlush(seconds));
    app.decorate('metrics', metrics);
    // every round this node runs feeds the dispatch metrics (the loop plugin is registered before this one)
    app.dispatcher.onRound((r) => recordRound(metrics, r));

    const config: FastifyContextConfig = app.config.metricsPublic ? { public: true } : { roles: ['dispatcher', 'admin'] };
    const schema = {
      summary: 'Prometheus metrics (text exposition format)',
      tags: ['health'],
      response: {
        200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } },
        ...errorResponses(app.config.metricsPublic ? { 503: ['unavailable'] } : { 401: ['unauthorized'], 403: ['forbidden'] }),
      },
    };
    app.get('/metrics', { config, schema }, async (_request: FastifyRequest, reply: FastifyReply) => {
      const body = await metrics.scrape();
      return reply.header('content-type', metrics.contentType).header('cache-control', 'no-store').send(body);
    });
  },
  {
    name: 'dispatchd-metrics',
    fastify: '5.x',
    dependencies: ['dispatchd-core', 'dispatchd-overload', 'dispatchd-auth', 'dispatchd-websocket', 'dispatchd-courier-socket', 'dispatchd-orders', 'dispatchd-dispatch-loop'],
  },
);
