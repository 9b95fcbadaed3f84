/** Ack latency histogram shared by the courier workers and the benchmark: 0.1 ms buckets up to 60 s. */
export const BUCKET_MS = 0.1;
export const BUCKETS = 600_000;
