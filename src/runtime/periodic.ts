/**
 * Runs a background task every `everyMs` of the injected Clock, one run at a time (the next is
 * planned only when the previous finished, so a slow run never overlaps itself). Failures go to
 * `onError` and the schedule goes on.
 */
import type { Clock } from '../clock.js';

export interface Periodic {
  /** Stops planning runs and waits for the one in flight. */
  stop(): Promise<void>;
}

export function repeatOnClock(clock: Clock, everyMs: number, task: () => Promise<unknown>, onError: (err: unknown) => void): Periodic {
  let cancel: (() => void) | null = null;
  let running: Promise<void> | null = null;
  let stopped = false;
  const plan = () => {
    if (stopped) return;
    cancel = clock.setTimeout(() => {
      cancel = null;
      running = task()
        .then(() => undefined, onError)
        .finally(() => {
          running = null;
          plan();
        });
    }, everyMs);
  };
  plan();
  return {
    async stop() {
      stopped = true;
      cancel?.();
      cancel = null;
      await running;
    },
  };
}
