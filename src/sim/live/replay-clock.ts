/**
 * The clock a replay shares with the service: held at its start time while the service boots (which
 * takes a few wall seconds, i.e. minutes of an accelerated day), then running `speed` times faster than
 * the wall clock from the moment the replay starts it. Timers set while held wait for the start.
 */
import { acceleratedClock, systemClock, type Clock } from '../../clock.js';

interface Held {
  readonly fn: () => void;
  readonly at: number;
  cancel: (() => void) | null;
  cancelled: boolean;
}

export class ReplayClock implements Clock {
  private running: Clock | null = null;
  private held: Held[] = [];

  constructor(
    readonly startMs: number,
    readonly speed: number,
    private readonly wall: Clock = systemClock,
  ) {
    if (!(speed > 0)) throw new RangeError(`clock speed must be > 0, got ${speed}`);
  }

  get started(): boolean {
    return this.running !== null;
  }

  now(): number {
    return this.running ? this.running.now() : this.startMs;
  }

  setTimeout(fn: () => void, ms: number): () => void {
    if (this.running) return this.running.setTimeout(fn, ms);
    const entry: Held = { fn, at: this.startMs + Math.max(0, ms), cancel: null, cancelled: false };
    this.held.push(entry);
    return () => {
      entry.cancelled = true;
      entry.cancel?.();
    };
  }

  /** Time starts to run now (idempotent). */
  start(): void {
    if (this.running) return;
    const running = acceleratedClock(this.startMs, this.speed, this.wall);
    this.running = running;
    const held = this.held;
    this.held = [];
    for (const entry of held) {
      if (!entry.cancelled) entry.cancel = running.setTimeout(entry.fn, entry.at - this.startMs);
    }
  }
}
