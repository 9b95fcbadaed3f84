import t from 'tap';
import { REJECT_REASONS, type RejectReason } from '../../src/domain/location-filter.js';
import { Metrics, recordRound, type MetricsSources } from '../../src/runtime/metrics.js';
import { parseMetrics, sample } from '../support/prometheus.js';

function sources(over: Partial<MetricsSources> = {}): MetricsSources {
  const rejected = Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>;
  return {
    ingest: { frames: 0, accepted: 0, rejected, flushFailures: 0 },
    offers: { made: 0, accepted: 0, rejected: 0, expired: 0, withdrawn: 0 },
    webhooks: { delivered: 0, failed: 0, dead: 0 },
    orders: { created: new Map(), events: new Map() },
    sockets: () => ({ courier: 0, store: 0, track: 0, console: 0, other: 0 }),
    pingRedis: async () => 'PONG',
    pingPostgres: async () => undefined,
    historyLag: async () => ({ entries: 0, pending: 0, oldestAgeMs: null, deadLetters: 0 }),
    openOrderPlacedAt: async () => [],
    courierCounts: async () => ({ offline: 0, paused: 0, free: 0, busy: 0 }),
    now: () => 1_000_000_000,
    ...over,
  };
}

const round = { zone: '851f1d4bfffffff', wallMs: 120, solveMs: 80, committed: 3, conflicts: 0, overran: false };

t.test('recordRound feeds rounds by outcome, solve and round histograms, conflicts and overruns', async (t) => {
  const m = new Metrics(sources(), { processMetrics: false });
  let s = parseMetrics(await m.scrape());
  t.equal(sample(s, 'dispatch_rounds_total', { outcome: 'committed' }), 0, 'every outcome is exported from the start');
  recordRound(m, round);
  recordRound(m, { ...round, committed: 0, solveMs: 2, wallMs: 4, waiting: { couriers_taken: 2, no_courier_in_reach: 1 } });
  t.equal(sample(s, 'dispatch_reassignments_total', { outcome: 'moved' }), 0, 'assignment updates exported from the start');
  recordRound(m, { ...round, committed: 1, conflicts: 2, overran: true, solveMs: 600, wallMs: 700, waiting: { couriers_taken: 3 }, reassigned: 2, reassignConflicts: 1 });
  s = parseMetrics(await m.scrape());
  t.equal(sample(s, 'dispatch_reassignments_total', { outcome: 'moved' }), 2, 'orders moved to a better courier');
  t.equal(sample(s, 'dispatch_reassignments_total', { outcome: 'conflict' }), 1, 'moves dropped on a race');
  t.equal(sample(s, 'dispatch_waiting_decisions_total', { reason: 'couriers_taken' }), 5, 'waiting orders by reason, summed over rounds');
  t.equal(sample(s, 'dispatch_waiting_decisions_total', { reason: 'no_courier_in_reach' }), 1);
  t.equal(sample(s, 'dispatch_rounds_total', { outcome: 'committed' }), 1);
  t.equal(sample(s, 'dispatch_rounds_total', { outcome: 'idle' }), 1);
  t.equal(sample(s, 'dispatch_rounds_total', { outcome: 'overran' }), 1, 'an overrun counts as overran even if it committed');
  t.equal(sample(s, 'dispatch_solve_seconds_count'), 3);
  t.ok(Math.abs(sample(s, 'dispatch_solve_seconds_sum')! - 0.682) < 1e-9, 'sum of solve seconds');
  t.equal(sample(s, 'dispatch_solve_seconds_bucket', { le: '0.005' }), 1, 'solve time in seconds, not ms');
  t.equal(sample(s, 'dispatch_solve_seconds_bucket', { le: '0.1' }), 2);
  t.ok(Math.abs(sample(s, 'dispatch_round_seconds_sum')! - 0.824) < 1e-9, 'sum of round seconds');
  t.equal(sample(s, 'dispatch_offer_conflicts_total'), 2);
  t.equal(sample(s, 'dispatch_round_overruns_total'), 1);
  t.equal(sample(s, 'dispatch_offers_committed_total'), 4);
});

t.test('plain counters are read at scrape time, with every label', async (t) => {
  const src = sources({ courierCounts: async () => ({ offline: 1, paused: 0, free: 4, busy: 2 }) });
  const m = new Metrics(src, { processMetrics: false });
  const ingest = src.ingest as { frames: number; accepted: number; rejected: Record<RejectReason, number> };
  ingest.frames = 7;
  ingest.accepted = 40;
  ingest.rejected.implausible_speed = 2;
  (src.orders.created as Map<string, number>).set('express', 3);
  (src.orders.events as Map<string, number>).set('placed', 3).set('offered', 1);
  (src.offers as { made: number; expired: number }).made = 5;
  (src.offers as { made: number; expired: number }).expired = 1;
  (src.webhooks as { dead: number }).dead = 1;
  m.observeFlush(0.002);
  const s = parseMetrics(await m.scrape());
  t.equal(sample(s, 'ingest_frames_total'), 7);
  t.equal(sample(s, 'ingest_points_accepted_total'), 40);
  t.equal(sample(s, 'ingest_points_rejected_total', { reason: 'implausible_speed' }), 2);
  t.equal(sample(s, 'ingest_points_rejected_total', { reason: 'schema' }), 0);
  t.equal(sample(s, 'ingest_flush_seconds_count'), 1);
  t.equal(sample(s, 'orders_created_total', { option: 'express' }), 3);
  t.equal(sample(s, 'orders_created_total', { option: 'scheduled' }), 0);
  t.equal(sample(s, 'order_events_total', { type: 'offered' }), 1);
  t.equal(sample(s, 'offers_made_total'), 5);
  t.equal(sample(s, 'offers_resolved_total', { outcome: 'expired' }), 1);
  t.equal(sample(s, 'webhook_deliveries_total', { outcome: 'dead' }), 1);
  t.equal(sample(s, 'couriers', { status: 'free' }), 4);
  t.equal(sample(s, 'couriers', { status: 'busy' }), 2);
  t.equal(sample(s, 'couriers', { status: 'offline' }), 1);
  t.equal(sample(s, 'couriers', { status: 'paused' }), 0);
  // counters follow the source, not accumulate per scrape
  ingest.frames = 9;
  const again = parseMetrics(await m.scrape());
  t.equal(sample(again, 'ingest_frames_total'), 9);
});

t.test('open orders by age on the service clock; failed pings and lag reads leave their series out', async (t) => {
  const now = 1_000_000_000;
  const min = 60_000;
  const m = new Metrics(
    sources({
      now: () => now,
      openOrderPlacedAt: async () => [now - 30_000, now - 1.99 * min, now - 2 * min, now - 7 * min, now - 19 * min, now - 45 * min],
      pingRedis: () => new Promise(() => {}),
      pingPostgres: async () => {
        throw new Error('down');
      },
      historyLag: async () => {
        throw new Error('no redis');
      },
    }),
    { processMetrics: false, pingTimeoutMs: 50 },
  );
  const s = parseMetrics(await m.scrape());
  t.equal(sample(s, 'orders_open', { age: '0-2m' }), 2);
  t.equal(sample(s, 'orders_open', { age: '2-5m' }), 1, 'exactly 2 min is in the next bucket');
  t.equal(sample(s, 'orders_open', { age: '5-10m' }), 1);
  t.equal(sample(s, 'orders_open', { age: '10-20m' }), 1);
  t.equal(sample(s, 'orders_open', { age: '20m+' }), 1);
  t.equal(sample(s, 'orders_open_oldest_age_seconds'), 45 * 60);
  t.equal(sample(s, 'dependency_up', { dependency: 'redis' }), 0, 'a ping with no answer in time is down');
  t.equal(sample(s, 'dependency_up', { dependency: 'postgres' }), 0);
  t.equal(sample(s, 'redis_ping_seconds'), undefined);
  t.equal(sample(s, 'postgres_ping_seconds'), undefined);
  t.equal(sample(s, 'history_stream_entries'), undefined);
});

t.test('answering pings and the history lag are exported; process metrics are on by default', async (t) => {
  const m = new Metrics(sources({ historyLag: async () => ({ entries: 12, pending: 3, oldestAgeMs: 2500, deadLetters: 1 }) }));
  const s = parseMetrics(await m.scrape());
  t.equal(sample(s, 'dependency_up', { dependency: 'redis' }), 1);
  t.ok((sample(s, 'redis_ping_seconds') ?? -1) >= 0);
  t.equal(sample(s, 'history_stream_entries'), 12);
  t.equal(sample(s, 'history_pending_entries'), 3);
  t.equal(sample(s, 'history_oldest_entry_age_seconds'), 2.5);
  t.ok(sample(s, 'process_cpu_user_seconds_total') !== undefined, 'default process metrics on the own registry');
  t.match(m.contentType, /^text\/plain; version=0\.0\.4/);
});

t.test('WebSockets are counted by the path they opened on', async (t) => {
  const { socketKindOf } = await import('../../src/gateway/http/metrics.js');
  t.equal(socketKindOf('/v1/courier?token=x'), 'courier');
  t.equal(socketKindOf('/v1/store'), 'store');
  t.equal(socketKindOf('/v1/track/3f1c0d7e-0000-4000-8000-000000000000?token=x'), 'track');
  t.equal(socketKindOf('/v1/console?token=x'), 'console');
  t.equal(socketKindOf('/v1/couriers'), 'other', 'a prefix of another path is not that path');
  t.equal(socketKindOf(undefined), 'other');
});

t.test('two apps in one process each export the process metrics', async (t) => {
  const a = parseMetrics(await new Metrics(sources()).scrape());
  const b = parseMetrics(await new Metrics(sources()).scrape());
  t.ok(sample(a, 'nodejs_eventloop_lag_seconds') !== undefined);
  t.ok(sample(b, 'nodejs_eventloop_lag_seconds') !== undefined);
  t.ok(sample(b, 'process_resident_memory_bytes') !== undefined);
});
