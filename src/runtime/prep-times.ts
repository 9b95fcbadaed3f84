/**
 * The live service's learned prep times (issue 14): a PrepTimeModel (domain/prep-time.ts) rebuilt from
 * the Postgres history of ready orders every PREP_REFRESH_MS of the service clock (the last
 * PREP_HISTORY_DAYS by placement), and updated online in between from each order that becomes ready on
 * this node. The dispatch snapshot asks it for an open order's ready time (`view`): the learned median
 * given the order is not ready yet, once the store has PREP_MIN_SAMPLES ready orders; else as before.
 *
 * Online learning needs the store's estimate at placement, which the `ready` change no longer carries
 * (readyAt is overwritten): the estimate is remembered from the `placed` change on this node (bounded
 * map). An order placed on another node is learned online without its estimate; the next refresh reads
 * the whole history from Postgres anyway.
 */
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { BaseLogger } from 'pino';
import type { Pool } from 'pg';
import type { Clock } from '../clock.js';
import { PrepTimeModel, readyView, type PrepTimeOptions, type ReadyView } from '../domain/prep-time.js';
import { prepHistory, prepSample } from '../store/pg/prep-history.js';
import type { Change } from './order-lifecycle.js';
import { repeatOnClock, type Periodic } from './periodic.js';

type Logger = Pick<BaseLogger, 'info' | 'warn' | 'error' | 'debug'>;

export interface PrepTimesOptions {
  readonly minSamples: number;
  readonly historyDays: number;
  readonly refreshMs: number;
  readonly utcOffsetMin: number;
  /** Model tuning beyond the config keys (tests). */
  readonly model?: Partial<PrepTimeOptions>;
}

/** Placement estimates remembered for online learning (oldest forgotten beyond this). */
const MAX_PENDING = 100_000;

export class PrepTimes {
  private model: PrepTimeModel;
  private periodic: Periodic | null = null;
  /** Order id → [placedAt, store's estimated readyAt] of orders placed on this node, not yet ready. */
  private readonly pending = new Map<string, readonly [number, number]>();
  /** Orders already learned from online (a second `ready` only corrects the time). */
  private readonly learned = new Set<string>();
  /** Service-clock ms of the last successful refresh (null: never). */
  lastRefreshAt: number | null = null;

  constructor(
    private readonly db: Pick<Pool, 'query'>,
    private readonly clock: Clock,
    private readonly log: Logger,
    readonly options: PrepTimesOptions,
  ) {
    this.model = this.emptyModel();
  }

  private emptyModel(): PrepTimeModel {
    return new PrepTimeModel({ utcOffsetMin: this.options.utcOffsetMin, ...this.options.model });
  }

  /** First refresh now (not awaited by the caller's hot path), then every refreshMs. */
  start(): void {
    if (this.periodic) return;
    this.periodic = repeatOnClock(this.clock, this.options.refreshMs, () => this.refresh(), (err) => this.log.warn({ err }, 'prep-time refresh failed: keeping the current model'));
    this.periodic.runNow();
  }

  async stop(): Promise<void> {
    await this.periodic?.stop();
    this.periodic = null;
  }

  /** Rebuilds the model from Postgres; returns the samples read. */
  async refresh(): Promise<number> {
    const now = this.clock.now();
    const samples = await prepHistory(this.db, now - this.options.historyDays * 86_400_000, now + 1);
    const model = this.emptyModel();
    for (const s of samples) model.observe(s);
    this.model = model;
    this.lastRefreshAt = now;
    this.log.debug({ samples: samples.length, stores: model.storeIds().length }, 'prep-time model refreshed');
    return samples.length;
  }

  /** Online learning from committed order changes (lifecycle.onChange). */
  onChange({ order, event }: Pick<Change, 'order' | 'event'>): void {
    if (event.type === 'placed') {
      if (order.readyAt > order.placedAt && !order.readyKnown) {
        if (this.pending.size >= MAX_PENDING) this.pending.delete(this.pending.keys().next().value as string);
        this.pending.set(order.id, [order.placedAt, order.readyAt]);
      }
      return;
    }
    if (event.type !== 'ready') return;
    // only the first ready of an order is a new sample (a later one corrects the time of an order in flight)
    if (this.learned.has(order.id)) return;
    if (this.learned.size >= MAX_PENDING) this.learned.delete(this.learned.values().next().value as string);
    this.learned.add(order.id);
    const placed = this.pending.get(order.id);
    this.pending.delete(order.id);
    this.model.observe(prepSample(order.storeId, order.placedAt, order.readyAt, placed?.[1]));
  }

  /** The ready time an open order is planned with (see domain readyView). */
  view(o: { readonly storeId: string; readonly placedAt: number; readonly readyAt: number; readonly readyKnown: boolean }, nowMs: number): ReadyView {
    return readyView(this.model, o, nowMs, this.options.minSamples);
  }

  /** The current model (read-only use: endpoints, tests). */
  current(): PrepTimeModel {
    return this.model;
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Learned prep times (issue 14): the ready time the rounds plan an order not yet ready with. */
    prepTimes: PrepTimes;
  }
}

export const prepTimesPlugin = fp(
  async function prepTimesPlugin(app: FastifyInstance) {
    const { config } = app;
    const prep = new PrepTimes(app.db, app.clock, app.log.child({ feature: 'prep-times' }), {
      minSamples: config.prepMinSamples,
      historyDays: config.prepHistoryDays,
      refreshMs: config.prepRefreshMs,
      utcOffsetMin: config.prepUtcOffsetMin,
    });
    app.decorate('prepTimes', prep);
    app.orders.lifecycle.onChange((c) => prep.onChange(c));
    app.addHook('onReady', async () => prep.start());
    app.addHook('preClose', async () => prep.stop());
  },
  { name: 'dispatchd-prep-times', fastify: '5.x', dependencies: ['dispatchd-core', 'dispatchd-orders'] },
);
