/**
 * The live picture quotes are priced and promised from, per node, at most QUOTE_SUPPLY_REFRESH_MS old:
 * the couriers who may take new work as the dispatch rounds see them (same code: fresh, not paused,
 * no open offer, placed where and when their committed work ends) in the optimizer's courier grid,
 * and per delivery zone its open orders and free couriers (the supply and demand the console shades).
 * A quote never waits for Redis or Postgres except for the very first picture; an old picture is
 * replaced in the background while quotes go on using it.
 */
import type { Clock } from '../clock.js';
import { CourierGrid } from '../dispatch/candidates.js';
import { startTime, type RouteContext } from '../dispatch/route.js';
import type { CourierState } from '../dispatch/types.js';
import type { LatLng } from '../domain/geo.js';
import { availableCouriers, type SnapshotOptions, type SnapshotSources } from './dispatch-snapshot.js';
import type { ZoneLocator } from './order-lifecycle.js';
import { CONSOLE_MAX_COURIERS } from './console-state.js';

export interface ZoneLoad {
  readonly openOrders: number;
  readonly freeCouriers: number;
}

export interface SupplyPicture {
  /** Service-clock ms it was taken. */
  readonly at: number;
  readonly couriers: readonly CourierState<LatLng>[];
  readonly grid: CourierGrid<LatLng>;
  readonly perZone: ReadonlyMap<string, ZoneLoad>;
}

/** A courier within this many seconds' reach of a pickup may make a promise; farther ones are not considered. */
export const QUOTE_REACH_S = 3600;
/** Exact reach is computed for this many couriers with the best lower bound. */
const CANDIDATES = 8;

export class QuoteSupply {
  private picture: SupplyPicture | null = null;
  private takenWallMs = 0;
  private refreshing: Promise<SupplyPicture> | null = null;

  constructor(
    private readonly src: SnapshotSources,
    private readonly opts: SnapshotOptions,
    private readonly zones: ZoneLocator,
    private readonly clock: Clock,
    private readonly maxAgeMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** The current picture; the first call waits for one, later calls trigger a refresh when it is old. */
  async current(): Promise<SupplyPicture> {
    if (!this.picture) return this.refresh();
    if (Date.now() - this.takenWallMs > this.maxAgeMs) this.refresh().catch(this.onError);
    return this.picture;
  }

  /** Takes a new picture (one at a time). */
  refresh(): Promise<SupplyPicture> {
    this.refreshing ??= this.take().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async take(): Promise<SupplyPicture> {
    const now = this.clock.now();
    const fresh = (await this.src.index.list(CONSOLE_MAX_COURIERS)).filter((l) => now - l.serverTs <= this.opts.staleAfterMs);
    const couriers = await availableCouriers(fresh, now, this.src, this.opts);
    const perZone = new Map<string, { openOrders: number; freeCouriers: number }>();
    const load = (zoneId: string) => {
      let l = perZone.get(zoneId);
      if (!l) perZone.set(zoneId, (l = { openOrders: 0, freeCouriers: 0 }));
      return l;
    };
    for (const c of couriers) {
      if (c.status !== 'free') continue;
      const zone = this.zones.locate(c.position);
      if (zone) load(zone.id).freeCouriers++;
    }
    for (const poolZone of await this.src.pool.zones()) {
      for (const o of await this.src.pool.snapshot(poolZone)) {
        const zone = this.zones.locate(o.pickup);
        if (zone) load(zone.id).openOrders++;
      }
    }
    const ctx = this.context(now);
    this.picture = { at: now, couriers, grid: new CourierGrid(couriers, ctx), perZone };
    this.takenWallMs = Date.now();
    return this.picture;
  }

  context(nowMs: number): RouteContext<LatLng> {
    return { now: Math.floor(nowMs / 1000), travel: this.opts.travel, service: this.opts.service };
  }

  /**
   * When the best courier of the picture could be at `pickup` (epoch ms), after its committed work,
   * with room for `size`, before its shift ends; null when none within QUOTE_REACH_S.
   */
  courierAtPickup(picture: SupplyPicture, pickup: LatLng, size: number, nowMs: number): number | null {
    const ctx = this.context(nowMs);
    const halfPickup = ctx.service.pickupS / 2;
    const { couriers } = picture;
    const pool = picture.grid.nearest(ctx.travel.planar(pickup), QUOTE_REACH_S, CANDIDATES, (i, lb) => couriers[i].capacity >= size && ctx.now + lb + halfPickup <= couriers[i].shiftEnd);
    let best: number | null = null;
    for (const i of pool) {
      const c = couriers[i];
      const at = startTime(c, ctx.now) + ctx.travel.seconds(c.position, pickup);
      if (at - ctx.now > QUOTE_REACH_S || at + halfPickup > c.shiftEnd) continue;
      if (best === null || at < best) best = at;
    }
    return best === null ? null : Math.max(best * 1000, nowMs);
  }
}
