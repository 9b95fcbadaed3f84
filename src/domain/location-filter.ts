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
/** More runs than this and a window digest stores the raw bitmap instead (256 hex digits). */
const MAX_DIGEST_RUNS = 16;

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

  /**
   * Restores a track from stored state (the index in Redis when a courier reconnects): the highest seq,
   * the current position and, when stored, the window's digest (`windowDigest`), so seqs accepted before
   * the reconnect stay duplicates.
   */
  static resume(highestSeq: number, current: { ts: number; lat: number; lng: number } | null, digest?: string | null): CourierTrack {
    const track = new CourierTrack();
    if (digest) track.restoreWindow(digest);
    if (highestSeq > track.highestSeq) track.advanceTo(highestSeq);
    if (highestSeq >= 0) track.setBit(highestSeq);
    if (current) {
      track.current = { ...current, acc: 0 };
      track.last = track.current;
    }
    return track;
  }

  /**
   * The duplicate window in a compact, storable form: `<highest>;<runs>` with runs of accepted seqs as
   * `<distance below highest>:<length>` (usually one run), or `<highest>=<hex words of the bitmap>` when fragmented.
   * Empty before the first accepted point.
   */
  windowDigest(): string {
    const h = this.highestSeq;
    if (h < 0) return '';
    const low = Math.max(0, h - SEQ_WINDOW + 1);
    let runs = '';
    let count = 0;
    for (let s = h; s >= low; ) {
      if (!this.hasBit(s)) {
        s--;
        continue;
      }
      let e = s;
      while (e > low) {
        const below = e - 1;
        // a whole 32-seq word of accepted seqs at once (a word holds seqs 32k … 32k+31)
        if ((below & 31) === 31 && below - 31 >= low && this.window[(below % SEQ_WINDOW) >>> 5] === 0xffffffff) e -= 32;
        else if (this.hasBit(below)) e--;
        else break;
      }
      if (++count > MAX_DIGEST_RUNS) return `${h}=${Array.from(this.window, (w) => w.toString(16).padStart(8, '0')).join('')}`;
      runs += `${count > 1 ? ',' : ''}${h - s}:${s - e + 1}`;
      s = e - 1;
    }
    return `${h};${runs}`;
  }

  /** Inverse of windowDigest; an unreadable digest leaves the track as it is (only `maxSeq` is then known). */
  private restoreWindow(digest: string): void {
    const m = /^(\d+)([;=])(.*)$/.exec(digest);
    if (!m) return;
    const h = Number(m[1]);
    if (m[2] === '=') {
      if (!/^[0-9a-f]*$/.test(m[3]) || m[3].length !== this.window.length * 8) return;
      for (let w = 0; w < this.window.length; w++) this.window[w] = parseInt(m[3].slice(w * 8, w * 8 + 8), 16);
      this.highestSeq = h;
      return;
    }
    this.highestSeq = h;
    for (const run of m[3].split(',')) {
      const [d, n] = run.split(':').map(Number);
      if (!(d >= 0 && n > 0)) continue;
      for (let s = h - d; s > h - d - n && s >= 0; s--) this.setBit(s);
    }
  }

  /** True when `seq` was accepted before, or is too far below the highest seq to tell (treated as seen). */
  hasSeen(seq: number): boolean {
    if (seq > this.highestSeq) return false;
    if (seq <= this.highestSeq - SEQ_WINDOW) return true;
    return this.hasBit(seq);
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
    if (p.seq > this.highestSeq) this.advanceTo(p.seq);
    this.setBit(p.seq);
    const fix = { ts: p.ts, lat: p.lat, lng: p.lng, acc: p.acc ?? 0 };
    this.last = fix;
    if (this.current === null || p.ts >= this.current.ts) {
      this.current = fix;
      return true;
    }
    return false;
  }

  /** Moves the highest seq up to `seq`: the seqs skipped on the way are not seen. */
  private advanceTo(seq: number): void {
    const advance = seq - this.highestSeq;
    if (advance >= SEQ_WINDOW || this.highestSeq < 0) this.window.fill(0);
    else for (let s = this.highestSeq + 1; s < seq; s++) this.clearBit(s);
    this.highestSeq = seq;
  }

  private hasBit(seq: number): boolean {
    const i = seq % SEQ_WINDOW;
    return (this.window[i >>> 5] & (1 << (i & 31))) !== 0;
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
