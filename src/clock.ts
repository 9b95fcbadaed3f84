/**
 * Time is injected everywhere so that simulations and replays can run faster than real time
 * and tests are deterministic. All times are epoch milliseconds.
 */
export interface Clock {
  now(): number;
  /** Calls fn after `ms` of this clock's time; returns a cancel function. */
  setTimeout(fn: () => void, ms: number): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};

/**
 * Runs `speed` times faster than the wall clock from `startMs` on: used for demos and live replays.
 */
export function acceleratedClock(startMs: number, speed: number, wall: Clock = systemClock): Clock {
  if (!(speed > 0)) throw new Error(`clock speed must be > 0, got ${speed}`);
  const wallStart = wall.now();
  return {
    now: () => startMs + (wall.now() - wallStart) * speed,
    setTimeout: (fn, ms) => wall.setTimeout(fn, ms / speed),
  };
}

/** A clock that only moves when told to: for tests and offline simulation. */
export class ManualClock implements Clock {
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private nextId = 1;
  constructor(private current = 0) {}
  now(): number {
    return this.current;
  }
  setTimeout(fn: () => void, ms: number): () => void {
    const id = this.nextId++;
    this.timers.push({ at: this.current + Math.max(0, ms), fn, id });
    return () => {
      this.timers = this.timers.filter((t) => t.id !== id);
    };
  }
  /** Moves time forward, firing due timers in time order. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.timers[0];
      if (!next || next.at > target) break;
      this.timers.shift();
      this.current = next.at;
      next.fn();
    }
    this.current = target;
  }
}

/**
 * The service clock main.ts runs on: the system clock, unless a speed other than 1 or a start time is
 * configured (CLOCK_SPEED, CLOCK_START), then an accelerated clock from that start (default: now).
 */
export function serviceClock(opts: { speed: number; startMs?: number }, wall: Clock = systemClock): Clock {
  if (opts.speed === 1 && opts.startMs === undefined) return wall;
  return acceleratedClock(opts.startMs ?? wall.now(), opts.speed, wall);
}
