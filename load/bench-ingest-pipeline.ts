/**
 * In-process cost of the location pipeline without sockets (not a test): filter → this turn's batch → the one
 * flush script call per turn (ioredis → Redis) → the ack object, for 2,000 couriers, PER_TURN points per
 * event-loop turn (round-robin), TURNS turns; prints CPU µs per point of this process (Redis's own CPU not
 * counted). Compare with the full service's µs per accepted point (`bench-ingest.ts --find-knee`) to see what
 * the sockets, the history sink and the rest cost.
 *
 *   REDIS_URL=redis://127.0.0.1:6393 npx tsx load/bench-ingest-pipeline.ts [PER_TURN=300] [TURNS=1000]
 */
import { Redis } from 'ioredis';
import { LocationIndex } from '../src/store/redis/location-index.js';
import { LocationIngest } from '../src/gateway/ws/location-ingest.js';
import { systemClock } from '../src/clock.js';
import { deleteKeysWithPrefix } from '../src/store/redis/client.js';
const url = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const prefix = `pb${process.pid}:`;
const redis = new Redis(url, { keyPrefix: prefix });
const index = new LocationIndex(redis, 9, { ttlMs: 3_600_000 });
const ingest = new LocationIngest(index, { maxSpeedKmh: 200, maxAccuracyM: 100, maxFutureSkewMs: 60_000, retentionMs: 30 * 86_400_000 }, systemClock);
const C = 2000, PER_TURN = Number(process.argv[2] ?? 300), TURNS = Number(process.argv[3] ?? 1000);
const ids = Array.from({ length: C }, (_, i) => `c${i}`);
await Promise.all(ids.map((id) => ingest.attach(id)));
const seq = new Array(C).fill(0);
let next = 0;
async function run(turns: number) {
  let pending: Promise<void>[] = [];
  for (let t = 0; t < turns; t++) {
    const now = Date.now();
    for (let k = 0; k < PER_TURN; k++) {
      const i = next++ % C;
      const s = ++seq[i];
      const p = { seq: s, ts: now, lat: 48.85 + (i % 50) * 0.001 + s * 1e-6, lng: 2.35 + Math.floor(i / 50) * 0.001, acc: 5, speed: 3, heading: 90 };
      const r = ingest.ingest(ids[i], [p]);
      if (r instanceof Promise) throw new Error('not loaded');
      if (k === 0 && r.stored) pending.push(r.stored.promise());
      JSON.stringify(r.ack);
    }
    await new Promise((res) => setImmediate(res));
      if (pending.length > 8) {
      await Promise.all(pending);
      pending = [];
    }
  }
  await Promise.all(pending);
}
await run(200); // warm-up
const c0 = process.cpuUsage(); const t0 = performance.now();
await run(TURNS);
const c = process.cpuUsage(c0); const n = TURNS * PER_TURN;
console.log(`points/turn ${PER_TURN}: ${((c.user + c.system) / n).toFixed(2)} µs/point CPU (user ${(c.user / n).toFixed(2)}), wall ${((performance.now() - t0) * 1000 / n).toFixed(2)} µs/point`);
redis.disconnect();
await deleteKeysWithPrefix(url, prefix, 'pb');
