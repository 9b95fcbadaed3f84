/**
 * Timers at instants of a (service) clock that can all be cancelled at once: what a simulated app
 * schedules, dropped together when it stops.
 */
import type { Clock } from '../../clock.js';

export class ClockTimers {
  private readonly cancels = new Set<() => void>();

  constructor(private readonly clock: Clock) {}

  /** Runs `fn` at clock time `ms` (at once if that is past). */
  at(ms: number, fn: () => void): void {
    const cancel = this.clock.setTimeout(() => {
      this.cancels.delete(cancel);
      fn();
    }, Math.max(0, ms - this.clock.now()));
    this.cancels.add(cancel);
  }

  /** Runs `fn` every `ms` of clock time, the first time `ms` from now. */
  every(ms: number, fn: () => void): void {
    const tick = () => {
      fn();
      this.at(this.clock.now() + ms, tick);
    };
    this.at(this.clock.now() + ms, tick);
  }

  cancelAll(): void {
    for (const cancel of this.cancels) cancel();
    this.cancels.clear();
  }
}
