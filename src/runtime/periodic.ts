/**
 * Runs a background task every `everyMs` of the injected Clock, one run at a time (the next is
 * planned only when the previous finished, so a slow run never overlaps itself). Failures go to
 * `onError` and the schedule goes on.
 */
import type { Clock } from '../clock.js';

export interface Periodic {
  /** Stops planning runs and waits for the one in flight. */
  stop(): Promise<void>;
  /** Runs the task now instead of at its next time (right after the run in flight, if any). */
  runNow(): void;
}

export function repeatOnClock(clock: Clock, everyMs: number, task: () => Promise<unknown>, onError: (err: unknown) => void): Periodic {
  let cancel: (() => void) | null = null;
  let running: Promise<void> | null = null;
  let stopped = false;
  let again = false;
  const run = () => {
    cancel = null;
    running = task()
      .then(() => undefined, onError)
      .finally(() => {
        running = null;
        if (again && !stopped) {
          again = false;
          run();
        } else plan();
      });
  };
  const plan = () => {
    if (stopped) return;
    cancel = clock.setTimeout(run, everyMs);
  };
  plan();
  return {
    async stop() {
      stopped = true;
      cancel?.();
      cancel = null;
      await running;
    },
    runNow() {
      if (stopped) return;
      if (running) {
        again = true;
        return;
      }
      cancel?.();
      run();
    },
  };
}
