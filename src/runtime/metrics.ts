/**
 * The service's Prometheus metrics (prom-client), one Registry per app: tests build many apps in one
 * process, so nothing goes to prom-client's global registry.
 *
 * Hot paths never touch prom-client: they count in plain integers (the `*Counters` shapes below, kept
 * by LocationIngest, OfferService, WebhookSender and OrderLifecycle) and the metrics read those numbers
 * in `collect()` at scrape time. Everything else that is a state rather than an event (sockets, pings,
 * stream lag, open orders by age) is also read at scrape time through `MetricsSources`.
 * Dispatch rounds arrive through `recordRound` (one call per round).
 */
import { COURIER_STATUSES, type CourierStatus } from '../domain/courier-status.js';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { REJECT_REASONS, type RejectReason } from '../domain/location-filter.js';
import type { FleetKpis } from '../domain/fleet-kpis.js';

/** What LocationIngest counts (monotonic). */
export interface IngestCounters {
  /** Location frames (loc/locs) that reached the filters. */
  readonly frames: number;
  /** Points stored in Redis and acked. */
  readonly accepted: number;
  readonly rejected: Readonly<Record<RejectReason, number>>;
  /** Flushes (one Redis write per event-loop turn) that failed; their points were answered store_unavailable. */
  readonly flushFailures: number;
}

/** What OfferService counts (monotonic). */
export interface OfferCounters {
  readonly made: number;
  readonly accepted: number;
  readonly rejected: number;
  readonly expired: number;
  readonly withdrawn: number;
}

/** What WebhookSender counts per attempt (monotonic). */
export interface WebhookCounters {
  readonly delivered: number;
  /** Attempts that failed and will be retried. */
  readonly failed: number;
  /** Attempts that failed and were given up (dead). */
  readonly dead: number;
}

/** What OrderLifecycle counts (monotonic), by delivery option and by order event type. */
export interface OrderCounters {
  readonly created: ReadonlyMap<string, number>;
  readonly events: ReadonlyMap<string, number>;
}

/** What the overload state counts (monotonic) and whether the node sheds now (gateway/overload.ts). */
export interface OverloadCounters {
  readonly shed: Readonly<Record<'http' | 'location_frame' | 'ws_upgrade', number>>;
  /** Location points in shed frames (not stored). */
  readonly shedPoints: number;
  isOverloaded(): boolean;
}

export const SOCKET_KINDS = ['courier', 'store', 'track', 'console', 'other'] as const;
export type SocketKind = (typeof SOCKET_KINDS)[number];

export interface HistoryLag {
  /** Entries in the location streams (all of them, summed) not yet written to Postgres (acked entries are deleted). */
  readonly entries: number;
  /** Entries delivered to a sink consumer and not acknowledged yet. */
  readonly pending: number;
  /** Age of the oldest entry still in any location stream, ms; null when all are empty. */
  readonly oldestAgeMs: number | null;
  /** Points in the dead-letter stream (values the history could not store, see history-sink.ts). */
  readonly deadLetters: number;
}

/** Read at scrape time. Every async source may fail: its metrics are then left out of that scrape. */
export interface MetricsSources {
  readonly ingest: IngestCounters;
  readonly offers: OfferCounters;
  readonly webhooks: WebhookCounters;
  readonly orders: OrderCounters;
  /** Open WebSockets on this node by kind. */
  sockets(): Readonly<Record<SocketKind, number>>;
  pingRedis(): Promise<unknown>;
  pingPostgres(): Promise<unknown>;
  historyLag(): Promise<HistoryLag>;
  /** Placement times (service clock ms) of the open orders. */
  openOrderPlacedAt(): Promise<readonly number[]>;
  /** Couriers per status of the one vocabulary (domain/courier-status.ts). */
  courierCounts(): Promise<Readonly<Record<CourierStatus, number>>>;
  /** The service clock (ms). */
  now(): number;
  /** Overload state and shedding; absent: those metrics are not exposed. */
  readonly overload?: OverloadCounters;
  /** Location points accepted and not yet written to Redis (buffered or in flight). */
  ingestBacklog?(): number;
  /** WORKERS > 1: courier sockets this node moved to a replaced worker (gateway/ws/rebalance.ts). */
  readonly rebalance?: { readonly closed: number; readonly refused: number };
  /** KPIs over the console's window (KPI_WINDOW_MS) split by fleet; absent: no kpi_* metrics. */
  fleetKpis?(): Promise<readonly FleetKpis[]>;
}

export interface MetricsOptions {
  /** Default Node process metrics (CPU, memory, event loop lag, GC) on this registry; on by default. */
  readonly processMetrics?: boolean;
  /** A ping (or a Redis read for a gauge) not answered within this counts as failed (wall ms, default 2000). */
  readonly pingTimeoutMs?: number;
}

/** Open orders by how long they have waited since placement: [label, upper bound in minutes]. */
export const OPEN_ORDER_AGE_BUCKETS: readonly (readonly [string, number])[] = [
  ['0-2m', 2],
  ['2-5m', 5],
  ['5-10m', 10],
  ['10-20m', 20],
  ['20m+', Infinity],
];

const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const FLUSH_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/** The fields of H1's RoundRecord that the metrics need. */
export interface RoundSummary {
  readonly zone: string;
  readonly wallMs: number;
  readonly solveMs: number;
  readonly committed: number;
  readonly conflicts: number;
  readonly overran: boolean;
  /** Orders the round left waiting, per reason code (dispatch/decisions.ts). */
  readonly waiting?: Readonly<Record<string, number>>;
  /** Assignment updates: orders moved to a better courier, and moves dropped because they lost a race. */
  readonly reassigned?: number;
  readonly reassignConflicts?: number;
}

export type RoundOutcome = 'overran' | 'committed' | 'idle';

export function roundOutcome(r: RoundSummary): RoundOutcome {
  if (r.overran) return 'overran';
  return r.committed > 0 ? 'committed' : 'idle';
}

/**
 * The default Node process metrics, created once per process: they describe the process, and each
 * collectDefaultMetrics call starts its own event-loop monitor and GC observer that are never stopped
 * (tests build many apps in one process). Every app's registry holds these same metric objects.
 */
let processRegistry: Registry | null = null;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** Resets a counter to absolute values read from plain integers (called from collect()). */
function setCounter(counter: Counter<string>, value: number, labels?: Record<string, string>): void {
  if (labels) counter.inc(labels, value);
  else counter.inc(value);
}

/**
 * One read shared by every metric of a scrape: prom-client collects all metrics concurrently, so the
 * first collect starts the read and the others of the same scrape wait for it. Failures become null.
 */
function perScrape<T>(read: () => Promise<T>): () => Promise<T | null> {
  let current: Promise<T | null> | null = null;
  return () => {
    if (current) return current;
    const p = read().catch(() => null);
    current = p;
    void p.then(() => setImmediate(() => (current = null)));
    return p;
  };
}

/** A scrape never hangs on a dependency that does not answer (wall-clock timeout: it bounds an HTTP request). */
async function withTimeout<T>(p: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function timed(fn: () => Promise<unknown>, timeoutMs: number): Promise<number> {
  const started = performance.now();
  await withTimeout(fn(), timeoutMs);
  return (performance.now() - started) / 1000;
}

export class Metrics {
  readonly registry = new Registry();
  readonly contentType: string = this.registry.contentType;
  /** Fed by recordRound. */
  readonly roundsTotal: Counter<'outcome'>;
  readonly solveSeconds: Histogram;
  readonly roundSeconds: Histogram;
  readonly offerConflicts: Counter;
  readonly roundOverruns: Counter;
  readonly roundOffersCommitted: Counter;
  readonly waitingDecisions: Counter;
  readonly reassignments: Counter;
  private readonly flushSeconds: Histogram;

  constructor(sources: MetricsSources, options: MetricsOptions = {}) {
    const registers = [this.registry];
    const pingTimeoutMs = options.pingTimeoutMs ?? 2000;
    if (options.processMetrics ?? true) {
      const shared = processMetrics();
      for (const { name } of shared.getMetricsAsArray()) this.registry.registerMetric(shared.getSingleMetric(name)!);
    }

    // --- location ingest
    new Counter({
      name: 'ingest_frames_total',
      help: 'Courier location frames (loc, locs) that reached the filters.',
      registers,
      collect() {
        this.reset();
        setCounter(this, sources.ingest.frames);
      },
    });
    new Counter({
      name: 'ingest_points_accepted_total',
      help: 'Courier location points stored in Redis and acked.',
      registers,
      collect() {
        this.reset();
        setCounter(this, sources.ingest.accepted);
      },
    });
    new Counter({
      name: 'ingest_points_rejected_total',
      help: 'Courier location points rejected, by reason (the reason sent in the ack).',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        for (const reason of REJECT_REASONS) setCounter(this, sources.ingest.rejected[reason], { reason });
      },
    });
    new Counter({
      name: 'ingest_flush_failures_total',
      help: 'Ingest writes to Redis that failed (their points were answered store_unavailable).',
      registers,
      collect() {
        this.reset();
        setCounter(this, sources.ingest.flushFailures);
      },
    });
    this.flushSeconds = new Histogram({
      name: 'ingest_flush_seconds',
      help: 'Duration of one ingest flush: the single Redis round trip (Lua) writing one event-loop turn of points.',
      buckets: FLUSH_BUCKETS,
      registers,
    });

    // --- overload (gateway/overload.ts)
    const overload = sources.overload;
    if (overload) {
      new Counter({
        name: 'overload_shed_total',
        help: 'Work refused while overloaded, by kind: http (write answered 503 overloaded), location_frame (answered overloaded, not stored), ws_upgrade (closed 1013).',
        labelNames: ['kind'],
        registers,
        collect() {
          this.reset();
          for (const kind of ['http', 'location_frame', 'ws_upgrade'] as const) setCounter(this, overload.shed[kind], { kind });
        },
      });
      new Counter({
        name: 'overload_shed_points_total',
        help: 'Location points in frames shed while overloaded (not stored; the courier app resends them).',
        registers,
        collect() {
          this.reset();
          setCounter(this, overload.shedPoints);
        },
      });
      new Gauge({
        name: 'overloaded',
        help: 'Whether this node is overloaded and shedding now (1) or not (0).',
        registers,
        collect() {
          this.set(overload.isOverloaded() ? 1 : 0);
        },
      });
    }
    const backlog = sources.ingestBacklog;
    if (backlog) {
      new Gauge({
        name: 'ingest_flush_backlog_points',
        help: 'Location points accepted and not yet written to Redis (this turn\'s batch and the writes in flight).',
        registers,
        collect() {
          this.set(backlog());
        },
      });
    }

    const rebalance = sources.rebalance;
    if (rebalance) {
      new Counter({
        name: 'ws_rebalance_total',
        help: 'WORKERS > 1, after a worker was replaced: courier sockets this worker asked to reconnect (action="closed", close 1012) and courier upgrades it refused while above its fair share (action="refused", close 1013).',
        labelNames: ['action'],
        registers,
        collect() {
          this.reset();
          setCounter(this, rebalance.closed, { action: 'closed' });
          setCounter(this, rebalance.refused, { action: 'refused' });
        },
      });
    }

    // --- sockets
    new Gauge({
      name: 'websocket_connections',
      help: 'Open WebSockets on this node by kind (courier, store, track, console, other).',
      labelNames: ['kind'],
      registers,
      collect() {
        this.reset();
        const counts = sources.sockets();
        for (const kind of SOCKET_KINDS) this.set({ kind }, counts[kind]);
      },
    });

    // --- dependencies: one ping each per scrape
    const pings = {
      redis: perScrape(() => timed(() => sources.pingRedis(), pingTimeoutMs)),
      postgres: perScrape(() => timed(() => sources.pingPostgres(), pingTimeoutMs)),
    };
    new Gauge({
      name: 'dependency_up',
      help: 'Whether the dependency answered its ping at this scrape (1) or not (0).',
      labelNames: ['dependency'],
      registers,
      async collect() {
        const [redis, postgres] = await Promise.all([pings.redis(), pings.postgres()]);
        this.set({ dependency: 'redis' }, redis === null ? 0 : 1);
        this.set({ dependency: 'postgres' }, postgres === null ? 0 : 1);
      },
    });
    for (const dependency of ['redis', 'postgres'] as const) {
      new Gauge({
        name: `${dependency}_ping_seconds`,
        help: `Round trip of a ${dependency} ping at scrape time, seconds (absent when it failed; see dependency_up).`,
        registers,
        async collect() {
          const seconds = await pings[dependency]();
          this.reset();
          if (seconds === null) this.remove();
          else this.set(seconds);
        },
      });
    }

    // --- history sink lag (one read serves the three gauges of a scrape)
    const readLag = perScrape(() => withTimeout(sources.historyLag(), pingTimeoutMs));
    const lagGauge = (name: string, help: string, pick: (l: HistoryLag) => number | null) =>
      new Gauge({
        name,
        help,
        registers,
        async collect() {
          const l = await readLag();
          const v = l ? pick(l) : null;
          this.reset();
          if (v === null) this.remove();
          else this.set(v);
        },
      });
    lagGauge('history_stream_entries', 'Entries (one per ingest flush) in the location streams (all of them) not yet written to Postgres.', (l) => l.entries);
    lagGauge('history_pending_entries', 'Stream entries read by a history sink consumer and not acknowledged yet.', (l) => l.pending);
    lagGauge('history_dead_letter_points', 'Points the history sink could not store (data errors), kept in the dead-letter stream loc:dead.', (l) => l.deadLetters);
    lagGauge('history_oldest_entry_age_seconds', 'Age of the oldest location stream entry not yet in Postgres (0 when the stream is empty).', (l) =>
      l.oldestAgeMs === null ? 0 : Math.max(0, l.oldestAgeMs / 1000),
    );

    // --- orders
    const readOpen = perScrape(() => withTimeout(sources.openOrderPlacedAt(), pingTimeoutMs));
    new Gauge({
      name: 'orders_open',
      help: 'Open orders (placed or ready, not offered yet) by time waited since placement, on the service clock.',
      labelNames: ['age'],
      registers,
      async collect() {
        const placed = await readOpen();
        this.reset();
        if (!placed) return;
        const now = sources.now();
        const counts = OPEN_ORDER_AGE_BUCKETS.map(() => 0);
        for (const at of placed) {
          const minutes = (now - at) / 60_000;
          counts[OPEN_ORDER_AGE_BUCKETS.findIndex(([, max]) => minutes < max)]++;
        }
        OPEN_ORDER_AGE_BUCKETS.forEach(([age], i) => this.set({ age }, counts[i]));
      },
    });
    new Gauge({
      name: 'orders_open_oldest_age_seconds',
      help: 'How long the longest-waiting open order has waited since placement (service clock; 0 when none).',
      registers,
      async collect() {
        const placed = await readOpen();
        this.reset();
        if (!placed) return this.remove();
        const oldest = placed.length ? Math.min(...placed) : null;
        this.set(oldest === null ? 0 : Math.max(0, (sources.now() - oldest) / 1000));
      },
    });
    // --- KPIs by fleet (own vs each carrier) over the console's KPI window: one Postgres read per scrape
    const fleetSource = sources.fleetKpis;
    if (fleetSource) {
      const readFleets = perScrape(() => withTimeout(fleetSource(), pingTimeoutMs));
      const fleetGauge = (name: string, help: string, labelNames: string[], fill: (g: Gauge<string>, k: FleetKpis) => void) =>
        new Gauge({
          name,
          help,
          labelNames,
          registers,
          async collect() {
            const fleets = await readFleets();
            this.reset();
            for (const k of fleets ?? []) fill(this, k);
          },
        });
      fleetGauge('kpi_orders_placed', 'Orders placed in the KPI window (last 3 h, service clock), by the fleet that has them (own or a carrier).', ['fleet'], (g, k) =>
        g.set({ fleet: k.fleet }, k.placed),
      );
      fleetGauge('kpi_orders_delivered', 'Orders delivered in the KPI window (last 3 h, service clock), by fleet.', ['fleet'], (g, k) => g.set({ fleet: k.fleet }, k.delivered));
      fleetGauge('kpi_on_time_ratio', 'Share (0–1) of the KPI window deliveries handed over no later than promised, by fleet (absent without deliveries).', ['fleet'], (g, k) => {
        if (k.delivered > 0) g.set({ fleet: k.fleet }, k.onTime / k.delivered);
      });
      fleetGauge('kpi_click_to_door_seconds', 'Click-to-door (placement → hand-over) of the KPI window deliveries, nearest-rank p50 and p90, by fleet.', ['fleet', 'quantile'], (g, k) => {
        if (k.ctdP50Ms !== null) g.set({ fleet: k.fleet, quantile: '0.5' }, k.ctdP50Ms / 1000);
        if (k.ctdP90Ms !== null) g.set({ fleet: k.fleet, quantile: '0.9' }, k.ctdP90Ms / 1000);
      });
      fleetGauge(
        'kpi_cost_per_order',
        'Cost per delivered order in the KPI window, by fleet and currency (major units, never converted): own = courier pay ÷ deliveries, a carrier = what it charged.',
        ['fleet', 'currency'],
        (g, k) => {
          for (const c of k.cost) g.set({ fleet: k.fleet, currency: c.currency }, c.perOrder);
        },
      );
    }

    new Counter({
      name: 'orders_created_total',
      help: 'Orders placed (new ones, not idempotent replays), by delivery option.',
      labelNames: ['option'],
      registers,
      collect() {
        this.reset();
        for (const option of ['express', 'standard', 'scheduled']) setCounter(this, sources.orders.created.get(option) ?? 0, { option });
        for (const [option, n] of sources.orders.created) if (!['express', 'standard', 'scheduled'].includes(option)) setCounter(this, n, { option });
      },
    });
    new Counter({
      name: 'order_events_total',
      help: 'Order status changes committed on this node, by order event type (placed, offered, accepted, delivered, …).',
      labelNames: ['type'],
      registers,
      collect() {
        this.reset();
        for (const [type, n] of sources.orders.events) setCounter(this, n, { type });
      },
    });

    // --- offers
    new Counter({
      name: 'offers_made_total',
      help: 'Offers made to couriers.',
      registers,
      collect() {
        this.reset();
        setCounter(this, sources.offers.made);
      },
    });
    new Counter({
      name: 'offers_resolved_total',
      help: 'Offers resolved, by outcome: accepted, rejected, expired (no answer in time), withdrawn (an order was cancelled).',
      labelNames: ['outcome'],
      registers,
      collect() {
        this.reset();
        const o = sources.offers;
        setCounter(this, o.accepted, { outcome: 'accepted' });
        setCounter(this, o.rejected, { outcome: 'rejected' });
        setCounter(this, o.expired, { outcome: 'expired' });
        setCounter(this, o.withdrawn, { outcome: 'withdrawn' });
      },
    });

    // --- webhooks
    new Counter({
      name: 'webhook_deliveries_total',
      help: 'Webhook delivery attempts by outcome: delivered (2xx), failed (will be retried), dead (given up).',
      labelNames: ['outcome'],
      registers,
      collect() {
        this.reset();
        const w = sources.webhooks;
        setCounter(this, w.delivered, { outcome: 'delivered' });
        setCounter(this, w.failed, { outcome: 'failed' });
        setCounter(this, w.dead, { outcome: 'dead' });
      },
    });

    // --- dispatch (fed by recordRound and setIdleCouriers)
    this.roundsTotal = new Counter({
      name: 'dispatch_rounds_total',
      help: 'Dispatch rounds by outcome: committed (at least one offer committed), idle (none), overran (cut short by the round budget).',
      labelNames: ['outcome'],
      registers,
    });
    for (const outcome of ['committed', 'idle', 'overran'] satisfies RoundOutcome[]) this.roundsTotal.inc({ outcome }, 0);
    this.solveSeconds = new Histogram({
      name: 'dispatch_solve_seconds',
      help: 'Optimizer (planRound) time per dispatch round, wall seconds.',
      buckets: SECONDS_BUCKETS,
      registers,
    });
    this.roundSeconds = new Histogram({
      name: 'dispatch_round_seconds',
      help: 'Whole dispatch round (snapshot, solve, commits), wall seconds.',
      buckets: SECONDS_BUCKETS,
      registers,
    });
    this.offerConflicts = new Counter({
      name: 'dispatch_offer_conflicts_total',
      help: 'Planned offers whose compare-and-set commit lost (order or courier changed meanwhile).',
      registers,
    });
    this.roundOverruns = new Counter({
      name: 'dispatch_round_overruns_total',
      help: 'Dispatch rounds that overran their budget and were cut short.',
      registers,
    });
    this.roundOffersCommitted = new Counter({
      name: 'dispatch_offers_committed_total',
      help: 'Offers committed by dispatch rounds.',
      registers,
    });
    this.waitingDecisions = new Counter({
      name: 'dispatch_waiting_decisions_total',
      help: 'Orders a dispatch round left waiting, by reason (couriers_taken, no_courier_in_reach, not_ready_soon_enough, …): one per order per round.',
      labelNames: ['reason'],
      registers,
    });
    this.reassignments = new Counter({
      name: 'dispatch_reassignments_total',
      help: 'Assignment updates: orders a dispatch round moved to a better courier because their ready estimate changed (outcome moved), or whose move lost a race and was dropped (outcome conflict).',
      labelNames: ['outcome'],
      registers,
    });
    for (const outcome of ['moved', 'conflict']) this.reassignments.inc({ outcome }, 0);
    const readCouriers = perScrape(() => withTimeout(sources.courierCounts(), pingTimeoutMs));
    new Gauge({
      name: 'couriers',
      help: 'Couriers by status: free (online, no offer, no order), busy (an offer or orders), paused (by a dispatcher), offline (no fresh position).',
      labelNames: ['status'],
      registers,
      async collect() {
        const counts = await readCouriers();
        this.reset();
        if (counts) for (const status of COURIER_STATUSES) this.set({ status }, counts[status]);
      },
    });
  }

  /** One ingest flush took `seconds` (one observation per flush, never per point). */
  observeFlush(seconds: number): void {
    this.flushSeconds.observe(seconds);
  }

  /** The Prometheus text exposition of everything. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }
}

/** Feeds one dispatch round into the metrics: wire it to the dispatcher's `onRound`. */
export function recordRound(metrics: Metrics, r: RoundSummary): void {
  metrics.roundsTotal.inc({ outcome: roundOutcome(r) });
  metrics.solveSeconds.observe(Math.max(0, r.solveMs) / 1000);
  metrics.roundSeconds.observe(Math.max(0, r.wallMs) / 1000);
  if (r.conflicts > 0) metrics.offerConflicts.inc(r.conflicts);
  if (r.committed > 0) metrics.roundOffersCommitted.inc(r.committed);
  if (r.overran) metrics.roundOverruns.inc();
  for (const [reason, n] of Object.entries(r.waiting ?? {})) metrics.waitingDecisions.inc({ reason }, n);
  if (r.reassigned) metrics.reassignments.inc({ outcome: 'moved' }, r.reassigned);
  if (r.reassignConflicts) metrics.reassignments.inc({ outcome: 'conflict' }, r.reassignConflicts);
}
