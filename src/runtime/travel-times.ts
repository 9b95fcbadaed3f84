/**
 * Calibrated travel times in the live service (issue 14): every TRAVEL_REFRESH_MS of the service clock
 * the couriers' trails of the last TRAVEL_CALIBRATION_DAYS are read from Postgres, cut into moving legs
 * and turned into speed and detour factors per delivery zone and local hour (domain/travel-calibration.ts).
 *
 * `live` is the travel model the service plans and computes ETAs with (dispatch rounds, assign preview,
 * quotes, courier tasks, console): the haversine model at the straight-line speed calibrated for the
 * origin's zone at the current hour. Without trails (or TRAVEL_CALIBRATION_DAYS=0) it answers exactly
 * as the plain haversine model at COURIER_SPEED_MPS. The model for one hour is built once and reused,
 * so a round sees one consistent model (unless the hour turns or a refresh lands mid-round).
 */
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { BaseLogger } from 'pino';
import type { Pool } from 'pg';
import type { Clock } from '../clock.js';
import { haversineTravelModel, type LatLng } from '../dispatch/travel.js';
import type { TravelModel } from '../dispatch/types.js';
import { calibratedTravelModel, legsOfTrail, TravelCalibration, type CalibrationOptions, type TravelFactors, type TravelLeg } from '../domain/travel-calibration.js';
import { courierTrails } from '../store/pg/travel-history.js';
import { repeatOnClock, type Periodic } from './periodic.js';

type Logger = Pick<BaseLogger, 'info' | 'warn' | 'error' | 'debug'>;

export interface TravelTimesOptions {
  readonly days: number;
  readonly refreshMs: number;
  readonly calibration: Partial<CalibrationOptions> & Pick<CalibrationOptions, 'priorStraightMps'>;
}

/** Zone id of places outside every stored zone. */
export const OUTSIDE_ZONES = 'outside';

export interface ZoneTravelView {
  readonly zone: string;
  /** Moving legs learned from in this zone (all hours). */
  readonly legs: number;
  /** Factors per local hour 0..23 (the level each comes from says how specific it is). */
  readonly hours: readonly (TravelFactors & { readonly hour: number })[];
}

export class TravelTimes {
  private calibration: TravelCalibration;
  private periodic: Periodic | null = null;
  private readonly base: TravelModel<LatLng>;
  private cached: { hour: number; calibration: TravelCalibration; model: TravelModel<LatLng> } | null = null;
  lastRefreshAt: number | null = null;
  /** The service's travel model: calibrated for the origin's zone and the current hour. */
  readonly live: TravelModel<LatLng>;

  constructor(
    private readonly db: Pick<Pool, 'query'>,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly zoneOf: (p: LatLng) => string,
    readonly options: TravelTimesOptions,
  ) {
    this.base = haversineTravelModel(options.calibration.priorStraightMps);
    this.calibration = new TravelCalibration([], options.calibration);
    const self = this;
    this.live = {
      seconds: (a, b) => self.modelAt(self.clock.now()).seconds(a, b),
      planar: (p) => self.base.planar(p),
      get maxSpeedMps() {
        return self.modelAt(self.clock.now()).maxSpeedMps;
      },
    };
  }

  /** The calibrated model for the hour of `atMs` (built once per hour and calibration). */
  modelAt(atMs: number): TravelModel<LatLng> {
    const hour = this.calibration.hourAt(atMs);
    if (this.cached && this.cached.hour === hour && this.cached.calibration === this.calibration) return this.cached.model;
    // nothing learned: exactly the plain haversine model (and its speed)
    const model = this.calibration.zoneLegs().size === 0 ? this.base : calibratedTravelModel(this.base, this.calibration, this.zoneOf, atMs);
    this.cached = { hour, calibration: this.calibration, model };
    return model;
  }

  start(): void {
    if (this.periodic || this.options.days <= 0) return;
    this.periodic = repeatOnClock(this.clock, this.options.refreshMs, () => this.refresh(), (err) => this.log.warn({ err }, 'travel calibration refresh failed: keeping the current factors'));
    this.periodic.runNow();
  }

  async stop(): Promise<void> {
    await this.periodic?.stop();
    this.periodic = null;
  }

  /** Rebuilds the calibration from the trails in Postgres; returns the legs found. */
  async refresh(): Promise<number> {
    const now = this.clock.now();
    const trails = await courierTrails(this.db, now - this.options.days * 86_400_000, now + 1);
    const legs: TravelLeg[] = [];
    for (const trail of trails.values()) legs.push(...legsOfTrail(trail, this.zoneOf, this.options.calibration));
    this.calibration = new TravelCalibration(legs, this.options.calibration);
    this.lastRefreshAt = now;
    this.log.debug({ couriers: trails.size, legs: legs.length }, 'travel calibration refreshed');
    return legs.length;
  }

  /** The factors of a zone for every local hour (endpoint and console). */
  zoneView(zone: string): ZoneTravelView {
    const cal = this.calibration;
    return {
      zone,
      legs: cal.zoneLegs().get(zone) ?? 0,
      hours: Array.from({ length: 24 }, (_, hour) => ({ hour, ...cal.factors(zone, hour) })),
    };
  }

  current(): TravelCalibration {
    return this.calibration;
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Calibrated travel times (issue 14): `live` is the service's travel model. */
    travelTimes: TravelTimes;
  }
}

export const travelTimesPlugin = fp(
  async function travelTimesPlugin(app: FastifyInstance) {
    const { config } = app;
    const zoneOf = (p: LatLng) => app.zones.index.find(p)?.id ?? OUTSIDE_ZONES;
    const travel = new TravelTimes(app.db, app.clock, app.log.child({ feature: 'travel-times' }), zoneOf, {
      days: config.travelCalibrationDays,
      refreshMs: config.travelRefreshMs,
      calibration: {
        priorStraightMps: config.courierSpeedMps,
        priorDetour: config.travelPriorDetour,
        minSamples: config.travelMinSamples,
        utcOffsetMin: config.prepUtcOffsetMin,
      },
    });
    app.decorate('travelTimes', travel);
    app.addHook('onReady', async () => travel.start());
    app.addHook('preClose', async () => travel.stop());
  },
  { name: 'dispatchd-travel-times', fastify: '5.x', dependencies: ['dispatchd-core', 'dispatchd-zones'] },
);

/** The app's travel model: calibrated when the plugin is there, else the plain haversine model. */
export function serviceTravel(app: FastifyInstance): TravelModel<LatLng> {
  return app.hasDecorator('travelTimes') ? app.travelTimes.live : haversineTravelModel(app.config.courierSpeedMps);
}
