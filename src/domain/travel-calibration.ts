/**
 * Calibrated travel times (issue 14): what couriers actually do, learned from their own trails.
 *
 * Pure: the caller passes trails (time-ordered fixes per courier) and a `zoneOf` lookup. A trail is cut
 * into moving legs (consecutive steps faster than `minMovingMps`, no gap longer than `maxGapS`; a stop
 * or a gap ends a leg). For each leg long enough (≥ `minLegS`, ≥ `minStraightM` between its ends):
 * - distance over ground L (sum of the steps), straight line D (first → last fix), time T;
 * - speed over ground L/T, detour factor L/D, and so the straight-line speed D/T = (L/T)/(L/D) — the
 *   speed the haversine travel model needs (it measures straight lines).
 * Per zone (of the leg's start) and local hour of day, the log speed and log detour are averaged with
 * shrinkage toward the parent level (prior → global → zone → zone-and-hour, `priorWeight` pseudo-legs),
 * a level counting only from `minSamples` legs. With no data the factors are the prior: the configured
 * straight-line speed, i.e. today's uncalibrated model.
 */
import { haversineMeters, type LatLng } from '../dispatch/travel.js';
import type { TravelModel } from '../dispatch/types.js';
import { localHour } from './prep-time.js';

export interface TrailFix {
  /** Device time, epoch ms. */
  readonly ts: number;
  readonly lat: number;
  readonly lng: number;
}

export interface TravelLeg {
  readonly zone: string;
  readonly hour: number;
  readonly pathM: number;
  readonly straightM: number;
  readonly durationS: number;
}

export interface CalibrationOptions {
  /** A step slower than this (m/s) is a stop: it ends the leg. */
  readonly minMovingMps: number;
  /** A step faster than this is a GPS jump: it ends the leg. */
  readonly maxStepMps: number;
  readonly maxGapS: number;
  readonly minLegS: number;
  readonly minStraightM: number;
  /** Legs whose detour exceeds this are loops (circling a block), not trips: left out. */
  readonly maxDetour: number;
  readonly minSamples: number;
  readonly priorWeight: number;
  /** Prior straight-line speed (m/s): the uncalibrated model's speed. */
  readonly priorStraightMps: number;
  /** Prior detour factor (over ground / straight line). */
  readonly priorDetour: number;
  readonly utcOffsetMin: number;
}

export const DEFAULT_CALIBRATION: CalibrationOptions = {
  minMovingMps: 1,
  maxStepMps: 40,
  maxGapS: 60,
  minLegS: 60,
  minStraightM: 200,
  maxDetour: 3,
  minSamples: 5,
  priorWeight: 5,
  priorStraightMps: 4.5,
  priorDetour: 1.3,
  utcOffsetMin: 0,
};

export interface TravelFactors {
  /** Speed over ground, m/s. */
  readonly speedMps: number;
  /** Distance over ground / straight line. */
  readonly detour: number;
  /** Straight-line speed (speedMps / detour): what the haversine travel model divides by. */
  readonly straightMps: number;
  /** Legs behind this level (zone-and-hour, else zone, else global; 0: the prior). */
  readonly samples: number;
  readonly level: 'zone-hour' | 'zone' | 'global' | 'prior';
}

/** The moving legs of one courier's time-ordered trail. */
export function legsOfTrail(trail: readonly TrailFix[], zoneOf: (p: LatLng) => string, opts: Partial<CalibrationOptions> = {}): TravelLeg[] {
  const o = { ...DEFAULT_CALIBRATION, ...opts };
  const legs: TravelLeg[] = [];
  let start = -1;
  let pathM = 0;
  const close = (end: number) => {
    if (start >= 0 && end > start) {
      const a = trail[start];
      const b = trail[end];
      const durationS = (b.ts - a.ts) / 1000;
      const straightM = haversineMeters(a, b);
      if (durationS >= o.minLegS && straightM >= o.minStraightM && pathM / straightM <= o.maxDetour) {
        legs.push({ zone: zoneOf(a), hour: localHour(a.ts, o.utcOffsetMin), pathM, straightM, durationS });
      }
    }
    start = -1;
    pathM = 0;
  };
  for (let i = 1; i < trail.length; i++) {
    const a = trail[i - 1];
    const b = trail[i];
    const dt = (b.ts - a.ts) / 1000;
    const d = haversineMeters(a, b);
    const moving = dt > 0 && dt <= o.maxGapS && d / dt >= o.minMovingMps && d / dt <= o.maxStepMps;
    if (moving) {
      if (start < 0) start = i - 1;
      pathM += d;
    } else close(i - 1);
  }
  close(trail.length - 1);
  return legs;
}

interface LogFit {
  readonly n: number;
  readonly lnSpeed: number;
  readonly lnDetour: number;
}

function fitLevel(legs: readonly TravelLeg[], parent: LogFit, o: CalibrationOptions): LogFit | null {
  if (legs.length < o.minSamples) return null;
  let s = 0;
  let d = 0;
  for (const l of legs) {
    s += Math.log(l.pathM / l.durationS);
    d += Math.log(l.pathM / l.straightM);
  }
  const k = o.priorWeight;
  const n = legs.length;
  return { n, lnSpeed: (s + k * parent.lnSpeed) / (n + k), lnDetour: (d + k * parent.lnDetour) / (n + k) };
}

export class TravelCalibration {
  readonly opts: CalibrationOptions;
  private readonly prior: LogFit;
  private readonly global: LogFit | null;
  private readonly zones = new Map<string, { fit: LogFit | null; hours: Map<number, LogFit | null>; legs: number }>();

  constructor(legs: readonly TravelLeg[], opts: Partial<CalibrationOptions> = {}) {
    const o = (this.opts = { ...DEFAULT_CALIBRATION, ...opts });
    this.prior = { n: 0, lnSpeed: Math.log(o.priorStraightMps * o.priorDetour), lnDetour: Math.log(o.priorDetour) };
    this.global = fitLevel(legs, this.prior, o);
    const byZone = new Map<string, TravelLeg[]>();
    for (const l of legs) {
      const list = byZone.get(l.zone);
      if (list) list.push(l);
      else byZone.set(l.zone, [l]);
    }
    const top = this.global ?? this.prior;
    for (const [zone, zl] of byZone) {
      const fit = fitLevel(zl, top, o);
      const byHour = new Map<number, TravelLeg[]>();
      for (const l of zl) {
        const list = byHour.get(l.hour);
        if (list) list.push(l);
        else byHour.set(l.hour, [l]);
      }
      const hours = new Map<number, LogFit | null>();
      for (const [h, hl] of byHour) hours.set(h, fitLevel(hl, fit ?? top, o));
      this.zones.set(zone, { fit, hours, legs: zl.length });
    }
  }

  /** The factors for travel starting in `zone` at local `hour`. */
  factors(zone: string, hour: number): TravelFactors {
    const z = this.zones.get(zone);
    const zh = z?.hours.get(hour) ?? null;
    const [fit, level]: [LogFit, TravelFactors['level']] = zh
      ? [zh, 'zone-hour']
      : z?.fit
        ? [z.fit, 'zone']
        : this.global
          ? [this.global, 'global']
          : [this.prior, 'prior'];
    const speedMps = Math.exp(fit.lnSpeed);
    const detour = Math.exp(fit.lnDetour);
    return { speedMps, detour, straightMps: speedMps / detour, samples: fit.n, level };
  }

  /** Zones with legs, and how many. */
  zoneLegs(): Map<string, number> {
    return new Map([...this.zones].map(([z, v]) => [z, v.legs]));
  }

  /** The fastest straight-line speed any zone or hour may answer (for the travel model's pruning bound). */
  maxStraightMps(): number {
    let max = this.factors('', -1).straightMps;
    for (const [zone, z] of this.zones) {
      max = Math.max(max, this.factors(zone, -1).straightMps);
      for (const h of z.hours.keys()) max = Math.max(max, this.factors(zone, h).straightMps);
    }
    return max;
  }

  /** Local hour of an instant with this calibration's offset. */
  hourAt(atMs: number): number {
    return localHour(atMs, this.opts.utcOffsetMin);
  }
}

/**
 * The haversine travel model with the calibrated straight-line speed of the origin's zone at the given
 * hour (fixed for the model's life: a round plans with one hour). `base` is the uncalibrated model at the
 * prior speed: its projection is reused and its pruning bound scaled to the fastest calibrated speed.
 */
export function calibratedTravelModel(
  base: TravelModel<LatLng>,
  calibration: TravelCalibration,
  zoneOf: (p: LatLng) => string,
  atMs: number,
): TravelModel<LatLng> {
  const hour = calibration.hourAt(atMs);
  // places are the same objects many times over in a round: look their zone up once
  const speedOf = new WeakMap<object, number>();
  const speed = (p: LatLng) => {
    let v = speedOf.get(p);
    if (v === undefined) {
      v = calibration.factors(zoneOf(p), hour).straightMps;
      speedOf.set(p, v);
    }
    return v;
  };
  const scale = Math.max(1, calibration.maxStraightMps() / calibration.opts.priorStraightMps);
  return {
    seconds: (a, b) => Math.ceil(haversineMeters(a, b) / speed(a)),
    planar: base.planar,
    maxSpeedMps: base.maxSpeedMps * scale,
  };
}
