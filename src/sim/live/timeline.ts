/**
 * The one mapping between the MDRP world's minutes of the day and the service clock's epoch
 * milliseconds: minute m of the instance is `dayStartMs + m × 60 000` on the shared (accelerated) clock.
 */
export interface Timeline {
  readonly dayStartMs: number;
  toMs(minute: number): number;
  toMinute(ms: number): number;
}

export function timelineFrom(dayStartMs: number): Timeline {
  return {
    dayStartMs,
    toMs: (minute) => dayStartMs + minute * 60_000,
    toMinute: (ms) => (ms - dayStartMs) / 60_000,
  };
}

/** Midnight UTC of the day that holds `nowMs`: replayed days land on today's date. */
export function midnightUtc(nowMs: number): number {
  const d = new Date(nowMs);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
}
