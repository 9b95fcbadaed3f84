/**
 * Plausibility filters for courier location points. Pure: the caller owns the per-courier track and the
 * clock. A rejected point never changes what the track accepts as seen or current; the caller reports
 * rejections with `noteRejected` so a run of agreeing speed rejections can re-anchor the track.
 */
import { distanceM, isValidLatLng } from './geo.js';

export interface LocationPoint {
  /** Per-device sequence number, increasing. */
  readonly seq: number;
  /** Device time, epoch ms. */
  readonly ts: number;
  readonly lat: number;
  readonly lng: number;
  /** Horizontal accuracy radius in metres. */
  readonly acc?: number;
  /** Speed in m/s as reported by the device. */
  readonly speed?: number;
  /** Heading in degrees clockwise from north. */
  readonly heading?: number;
}

export const REJECT_REASONS = [
  'schema',
  'out_of_range',
  'future_timestamp',
  'too_old',
  'duplicate_seq',
  'poor_accuracy',
  'implausible_speed',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export interface FilterLimits {
  readonly maxSpeedKmh: number;
  readonly maxAccuracyM: number;
  readonly maxFutureSkewMs: number;
  /** Points older than this (relative to now) are outside the history retention window. */
  readonly retentionMs: number;
}

interface Fix {
  ts: number;
  lat: number;
  lng: number;
  acc: number;
}

/** Optional reals (acc, speed, heading) closer to 0 than this are stored as 0 (history keeps them as `real`). */
export const TINY_REAL = 1e-6;

/** An optional real as stored: tiny values become 0, so no subnormal reaches a `real` column. */
export function storedReal(value: number | undefined): number | undefined {
  return value !== undefined && Math.abs(value) < TINY_REAL ? 0 : value;
}

/** How many seqs below the highest one are remembered exactly (reordering tolerance). */
export const SEQ_WINDOW = 1024;

/**
 * After this many consecutive implausible_speed rejections that agree with each other (plausible speed
 * between them, increasing time), the next agreeing point is accepted and becomes the new anchor: the
 * anchor itself was the bad fix, or the courier really jumped (tunnel, GPS off). Without it one bad fix
 * locks out every good point until enough time has passed.
 */
export const REANCHOR_AFTER = 3;

/**
 * What the filters remember about one courier: the highest seq plus a bitmap of the SEQ_WINDOW seqs below
 * it (an anti-replay window, as in IPsec), the last accepted fix (speed check) and the current position
 * (latest device time, which out-of-order points never move backwards).
 */
export class CourierTrack {
  highestSeq = -1;
  private readonly window = new Uint32Array(SEQ_WINDOW / 32);
  last: Fix | null = null;
  current: Fix | null = null;
  /** The latest run of speed-rejected points that agree with each other (at most REANCHOR_AFTER). */
  private suspects: Fix[] = [];

  /** Restores a track from stored state (e.g. the index in Redis when a courier reconnects). */
  static resume(highestSeq: number, current: { ts: number; lat: number; lng: number } | null): CourierTrack {
    const track = new CourierTrack();
    if (highestSeq >= 0) {
      track.highestSeq = highestSeq;
      track.setBit(highestSeq);
    }
    if (current) {
      track.current = { ...current, acc: 0 };
      track.last = track.current;
    }
    return track;
  }

  /** True when `seq` was accepted before, or is too far below the highest seq to tell (treated as seen). */
  hasSeen(seq: number): boolean {
    if (seq > this.highestSeq) return false;
    if (seq <= this.highestSeq - SEQ_WINDOW) return true;
    const i = seq % SEQ_WINDOW;
    return (this.window[i >>> 5] & (1 << (i & 31))) !== 0;
  }

  /** Records a rejection: a run of agreeing implausible_speed points may re-anchor the track (REANCHOR_AFTER). */
  noteRejected(p: LocationPoint, reason: RejectReason, maxSpeedKmh: number): void {
    if (reason !== 'implausible_speed') return;
    const fix = { ts: p.ts, lat: p.lat, lng: p.lng, acc: p.acc ?? 0 };
    if (!this.agreesWithSuspects(p, maxSpeedKmh)) this.suspects = [];
    this.suspects.push(fix);
    if (this.suspects.length > REANCHOR_AFTER) this.suspects.shift();
  }

  /** True when `p` continues REANCHOR_AFTER agreeing speed rejections: accept it despite the old anchor. */
  reanchors(p: LocationPoint, maxSpeedKmh: number): boolean {
    return this.suspects.length >= REANCHOR_AFTER && this.agreesWithSuspects(p, maxSpeedKmh);
  }

  private agreesWithSuspects(p: LocationPoint, maxSpeedKmh: number): boolean {
    const prev = this.suspects[this.suspects.length - 1];
    return prev !== undefined && p.ts > prev.ts && impliedSpeedKmh(prev, p) <= maxSpeedKmh;
  }

  /**
   * A seq too far below the highest one to be a reordered point, yet newer than the current position: the
   * device restarted its counter (app reinstalled, storage cleared). Replays of old points have old times
   * and stay duplicates.
   */
  isCounterReset(p: LocationPoint): boolean {
    return this.current !== null && p.seq <= this.highestSeq - SEQ_WINDOW && p.ts > this.current.ts;
  }

  /** Records an accepted point; returns true when it became the current position. */
  accept(p: LocationPoint): boolean {
    if (this.suspects.length) this.suspects = [];
    if (this.isCounterReset(p)) {
      // Start the duplicate window over from the new counter.
      this.window.fill(0);
      this.highestSeq = p.seq;
    }
    if (p.seq > this.highestSeq) {
      const advance = p.seq - this.highestSeq;
      if (advance >= SEQ_WINDOW || this.highestSeq < 0) this.window.fill(0);
      else for (let s = this.highestSeq + 1; s < p.seq; s++) this.clearBit(s);
      this.highestSeq = p.seq;
    }
    this.setBit(p.seq);
    const fix = { ts: p.ts, lat: p.lat, lng: p.lng, acc: p.acc ?? 0 };
    this.last = fix;
    if (this.current === null || p.ts >= this.current.ts) {
      this.current = fix;
      return true;
    }
    return false;
  }

  private setBit(seq: number): void {
    const i = seq % SEQ_WINDOW;
    this.window[i >>> 5] |= 1 << (i & 31);
  }

  private clearBit(seq: number): void {
    const i = seq % SEQ_WINDOW;
    this.window[i >>> 5] &= ~(1 << (i & 31));
  }
}

/** Implied speed in km/h between two fixes, after allowing for their accuracy radii (GPS jitter). */
export function impliedSpeedKmh(a: Fix, b: { ts: number; lat: number; lng: number; acc?: number }): number {
  const metres = Math.max(0, distanceM(a, b) - a.acc - (b.acc ?? 0));
  if (metres === 0) return 0;
  const dtMs = Math.abs(b.ts - a.ts);
  if (dtMs === 0) return Infinity;
  return (metres / dtMs) * 3600;
}

/**
 * Checks a schema-valid point against the courier's track. Returns the reason it must be rejected, or null.
 * The order matters: cheap and unambiguous checks first, so each point gets the most telling reason.
 */
export function rejectReason(p: LocationPoint, track: CourierTrack, limits: FilterLimits, now: number): RejectReason | null {
  if (!isValidLatLng(p.lat, p.lng)) return 'out_of_range';
  if (p.ts > now + limits.maxFutureSkewMs) return 'future_timestamp';
  if (p.ts < now - limits.retentionMs) return 'too_old';
  if (track.hasSeen(p.seq) && !track.isCounterReset(p)) return 'duplicate_seq';
  if (p.acc !== undefined && p.acc > limits.maxAccuracyM) return 'poor_accuracy';
  if (track.last !== null && impliedSpeedKmh(track.last, p) > limits.maxSpeedKmh && !track.reanchors(p, limits.maxSpeedKmh)) {
    return 'implausible_speed';
  }
  return null;
}
