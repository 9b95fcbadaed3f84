/**
 * KPIs over the day (GET /v1/kpis): the range cut into buckets of the service clock, and each bucket's
 * numbers as the API shows them. Buckets are aligned to multiples of the bucket length since the epoch
 * (15-minute buckets start at :00, :15, :30, :45), so two requests over the same time agree.
 */
export const DEFAULT_BUCKET_MS = 15 * 60_000;
export const MIN_BUCKET_MS = 60_000;
export const MAX_BUCKET_MS = 86_400_000;
export const MAX_BUCKETS = 2000;
export const MAX_RANGE_MS = 31 * 86_400_000;

export type KpiRangeError = 'invalid_bucket' | 'invalid_time_range' | 'too_many_buckets';

export interface KpiRange {
  /** Start of the first bucket (≤ the asked `from`). */
  readonly from: number;
  /** End of the last bucket, exclusive (≥ the asked `to`). */
  readonly to: number;
  readonly bucketMs: number;
  readonly count: number;
}

/** The aligned buckets covering [from, to), or why the request is refused. */
export function kpiRange(from: number, to: number, bucketMs: number): KpiRange | { error: KpiRangeError; message: string } {
  if (!Number.isInteger(bucketMs) || bucketMs < MIN_BUCKET_MS || bucketMs > MAX_BUCKET_MS) {
    return { error: 'invalid_bucket', message: `bucket must be whole milliseconds between ${MIN_BUCKET_MS} and ${MAX_BUCKET_MS}` };
  }
  if (!(from < to)) return { error: 'invalid_time_range', message: 'from must be before to' };
  if (to - from > MAX_RANGE_MS) return { error: 'invalid_time_range', message: `the range may span at most ${MAX_RANGE_MS / 86_400_000} days` };
  const start = Math.floor(from / bucketMs) * bucketMs;
  const end = Math.ceil(to / bucketMs) * bucketMs;
  const count = (end - start) / bucketMs;
  if (count > MAX_BUCKETS) return { error: 'too_many_buckets', message: `at most ${MAX_BUCKETS} buckets; use a longer bucket or a shorter range` };
  return { from: start, to: end, bucketMs, count };
}

export interface KpiBucketCounts {
  readonly placed: number;
  readonly delivered: number;
  /** Delivered at or before promisedBy. */
  readonly onTime: number;
  /** Click-to-door (placedAt → deliveredAt) percentiles of the bucket's deliveries, ms; null without any. */
  readonly ctdP50Ms: number | null;
  readonly ctdP90Ms: number | null;
}

export interface KpiBucket extends KpiBucketCounts {
  readonly start: number;
  readonly late: number;
  /** Share of the bucket's deliveries on time, %, one decimal; null without deliveries. */
  readonly onTimePct: number | null;
}

export function kpiBucket(start: number, c: KpiBucketCounts): KpiBucket {
  return {
    start,
    placed: c.placed,
    delivered: c.delivered,
    onTime: c.onTime,
    late: c.delivered - c.onTime,
    onTimePct: c.delivered > 0 ? Math.round((1000 * c.onTime) / c.delivered) / 10 : null,
    ctdP50Ms: c.ctdP50Ms,
    ctdP90Ms: c.ctdP90Ms,
  };
}
