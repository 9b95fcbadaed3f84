/**
 * The location pipeline behind the courier socket: filter → index + stream (one Redis round trip per
 * event-loop turn) → ack → notify.
 *
 * Per-courier filter state lives in memory on the node that holds the courier's socket and is re-loaded
 * from Redis when the courier connects, or after a failed write (Redis then says what was really stored).
 */
import type { Clock } from '../../clock.js';
import { cellDiskOf, type CellDisk } from '../../domain/geo.js';
import { CourierTrack, REJECT_REASONS, rejectReason, storedReal, type FilterLimits, type LocationPoint, type RejectReason } from '../../domain/location-filter.js';
import type { CourierUpdate, LocationIndex, StoredPoint } from '../../store/redis/location-index.js';
import type { AckFrame } from './courier-frames.js';

export interface Rejection {
  seq: number | null;
  reason: RejectReason;
}

interface CourierEntry {
  track: CourierTrack | null;
  /** The cell the index holds for this courier (as of the last write queued). */
  cell: string | null;
  /** The current cell's inner disk: points inside it skip the H3 lookup. */
  disk: CellDisk | null;
  loading: Promise<void> | null;
  sockets: number;
}

interface Batch {
  updates: Map<string, { serverTs: number; maxSeq: number; previousCell: string | null; current?: LocationPoint }>;
  points: StoredPoint[];
  pending: PendingWrite;
}

/**
 * One turn's write, as seen by the frames waiting on it. Plain callbacks rather than a promise per
 * frame: at tens of thousands of frames a second the promise reactions are a measurable share of CPU.
 */
export class PendingWrite {
  private callbacks: ((err: unknown) => void)[] = [];
  private outcome: { err: unknown } | null = null;

  /** Calls `cb` once the write finished: with null on success, with the error otherwise. */
  onDone(cb: (err: unknown) => void): void {
    if (this.outcome) cb(this.outcome.err);
    else this.callbacks.push(cb);
  }

  promise(): Promise<void> {
    return new Promise((resolve, reject) => this.onDone((err) => (err ? reject(err) : resolve())));
  }

  settle(err: unknown): void {
    if (this.outcome) return;
    this.outcome = { err };
    const cbs = this.callbacks;
    this.callbacks = [];
    for (const cb of cbs) cb(err);
  }
}

/** Listeners see what each write changed (tile38 style): after Redis applied it, before nothing else. */
export type ChangeListener = (updates: readonly CourierUpdate[]) => void;

export interface IngestResult {
  ack: AckFrame;
  /** The write holding the accepted points (fails with StoreUnavailableError); null if none were accepted. */
  stored: PendingWrite | null;
}

/**
 * Plain integer counters of the pipeline, read by the metrics at scrape time (runtime/metrics.ts): the
 * hot path pays an increment, never a label lookup or a histogram observation.
 */
export class IngestStats {
  frames = 0;
  accepted = 0;
  flushFailures = 0;
  readonly rejected: Record<RejectReason, number> = Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>;
}

/** Called once per flush (one Redis round trip), with its duration in seconds. */
export type FlushListener = (seconds: number, points: number, ok: boolean) => void;

export class StoreUnavailableError extends Error {
  readonly code = 'store_unavailable';
}

export class LocationIngest {
  private readonly couriers = new Map<string, CourierEntry>();
  private batch: Batch | null = null;
  private readonly inFlight = new Set<Promise<void>>();
  private inFlightPoints = 0;
  private readonly listeners: ChangeListener[] = [];
  private readonly flushListeners: FlushListener[] = [];
  readonly stats = new IngestStats();

  constructor(
    private readonly index: LocationIndex,
    private readonly limits: FilterLimits,
    private readonly clock: Clock,
    private readonly onError: (err: unknown, courierIds: string[]) => void = () => {},
  ) {}

  onChange(listener: ChangeListener): void {
    this.listeners.push(listener);
  }

  onFlush(listener: FlushListener): void {
    this.flushListeners.push(listener);
  }

  /** A socket for this courier opened: load its state from the index. */
  attach(courierId: string): Promise<void> {
    let entry = this.couriers.get(courierId);
    if (!entry) {
      entry = { track: null, cell: null, disk: null, loading: null, sockets: 0 };
      this.couriers.set(courierId, entry);
    }
    entry.sockets++;
    return this.ensureLoaded(courierId, entry);
  }

  detach(courierId: string): void {
    const entry = this.couriers.get(courierId);
    if (entry && --entry.sockets <= 0) this.couriers.delete(courierId);
  }

  private ensureLoaded(courierId: string, entry: CourierEntry): Promise<void> {
    if (entry.track) return Promise.resolve();
    entry.loading ??= this.index
      .get(courierId)
      .then(
        (loc) => {
          entry.track = loc ? CourierTrack.resume(loc.maxSeq, loc, loc.window) : new CourierTrack();
          entry.cell = loc?.cell ?? null;
        },
        (err: unknown) => {
          throw new StoreUnavailableError('location store unavailable', { cause: err });
        },
      )
      .finally(() => {
        entry.loading = null;
      });
    return entry.loading;
  }

  /**
   * Filters schema-valid points in order and queues the accepted ones for this turn's write. Returns the
   * ack and, when points were accepted, the write it must wait for (synchronously when the courier's
   * state is loaded — the hot path allocates no promise of its own). `rejected` carries the caller's
   * schema failures.
   */
  ingest(courierId: string, points: readonly LocationPoint[], rejected: Rejection[] = []): IngestResult | Promise<IngestResult> {
    const entry = this.couriers.get(courierId);
    if (!entry) return Promise.reject(new Error(`courier ${courierId} is not attached`));
    if (!entry.track) return this.ensureLoaded(courierId, entry).then(() => this.ingest(courierId, points, rejected));
    const track = entry.track;
    const now = this.clock.now();
    let highest: number | null = null;
    let batch: Batch | null = null;
    for (const p of points) {
      const reason = rejectReason(p, track, this.limits, now);
      if (reason) {
        rejected.push({ seq: p.seq, reason });
        track.noteRejected(p, reason, this.limits.maxSpeedKmh);
        continue;
      }
      const movesCurrent = track.accept(p);
      if (highest === null || p.seq > highest) highest = p.seq;
      batch ??= this.currentBatch();
      let u = batch.updates.get(courierId);
      if (!u) {
        u = { serverTs: now, maxSeq: track.highestSeq, previousCell: entry.cell };
        batch.updates.set(courierId, u);
      }
      u.serverTs = now;
      u.maxSeq = track.highestSeq;
      if (movesCurrent) u.current = p;
      batch.points.push({
        courierId,
        seq: p.seq,
        ts: p.ts,
        lat: p.lat,
        lng: p.lng,
        acc: storedReal(p.acc),
        speed: storedReal(p.speed),
        heading: storedReal(p.heading),
        serverTs: now,
      });
    }
    // counted here, on the loaded path, so a frame that waited for its courier's state counts once
    const stats = this.stats;
    stats.frames++;
    for (let i = 0; i < rejected.length; i++) stats.rejected[rejected[i].reason]++;
    return { ack: { type: 'ack', seq: highest, rejected }, stored: batch ? batch.pending : null };
  }

  private currentBatch(): Batch {
    if (this.batch) return this.batch;
    const batch: Batch = { updates: new Map(), points: [], pending: new PendingWrite() };
    this.batch = batch;
    // Everything accepted during this event-loop turn goes out in one write.
    setImmediate(() => this.flush(batch));
    return batch;
  }

  private flush(batch: Batch): void {
    this.batch = null;
    const updates: CourierUpdate[] = [];
    for (const [courierId, u] of batch.updates) {
      const entry = this.couriers.get(courierId);
      let current: CourierUpdate['current'];
      if (u.current) {
        const disk = cellDiskOf(u.current.lat, u.current.lng, this.index.resolution, entry?.disk ?? null);
        if (entry) entry.disk = disk;
        const cell = disk.cell;
        current = { seq: u.current.seq, ts: u.current.ts, lat: u.current.lat, lng: u.current.lng, cell };
        // accuracy travels along for listeners that judge fixes (geofence arrival)
        if (u.current.acc !== undefined) current.acc = u.current.acc;
        if (entry) entry.cell = cell;
      }
      // The window travels with every write, so a reconnect restores it (no extra round trip per point).
      const window = entry?.track?.windowDigest();
      updates.push({ courierId, serverTs: u.serverTs, maxSeq: u.maxSeq, previousCell: u.previousCell, current, window });
    }
    const started = performance.now();
    const flushed = (ok: boolean) => {
      if (this.flushListeners.length === 0) return;
      const seconds = (performance.now() - started) / 1000;
      for (const listener of this.flushListeners) listener(seconds, batch.points.length, ok);
    };
    const write = this.index.write(updates, batch.points).then(
      () => {
        this.stats.accepted += batch.points.length;
        flushed(true);
        batch.pending.settle(null);
        for (const listener of this.listeners) listener(updates);
      },
      (err: unknown) => {
        // Nothing was applied: forget what this node believed and re-read the index before the next frame.
        const ids = [...batch.updates.keys()];
        for (const id of ids) {
          const entry = this.couriers.get(id);
          if (entry) {
            entry.track = null;
            entry.cell = null;
          }
        }
        this.stats.flushFailures++;
        flushed(false);
        this.onError(err, ids);
        batch.pending.settle(new StoreUnavailableError('location store unavailable'));
      },
    );
    this.inFlight.add(write);
    this.inFlightPoints += batch.points.length;
    void write.finally(() => {
      this.inFlight.delete(write);
      this.inFlightPoints -= batch.points.length;
    });
  }

  /** Points accepted but not yet written to Redis: this turn's batch plus the writes in flight (overload signal). */
  backlog(): number {
    return (this.batch?.points.length ?? 0) + this.inFlightPoints;
  }

  /** Waits for queued and in-flight writes (graceful shutdown). */
  async drain(): Promise<void> {
    while (this.batch || this.inFlight.size > 0) {
      if (this.batch) await this.batch.pending.promise().catch(() => {});
      await Promise.allSettled([...this.inFlight]);
    }
  }
}
