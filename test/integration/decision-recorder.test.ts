/**
 * The decision recorder on real Redis and Postgres: the latest decisions reach Redis at once, the
 * history only when flushed; a Postgres outage never fails `record` (the round goes on), the batch is
 * kept and written once Postgres is back, and the buffer stays bounded (oldest dropped, counted).
 */
import type { Pool } from 'pg';
import t from 'tap';
import { ManualClock } from '../../src/clock.js';
import type { DispatchDecision } from '../../src/dispatch/decisions.js';
import { createLogger } from '../../src/logger.js';
import { DecisionRecorder } from '../../src/runtime/decision-recorder.js';
import { LatestDecisions } from '../../src/store/redis/dispatch-decisions.js';
import { createTestContext } from '../support/index.js';

const decision = (orderId: string, at: number): DispatchDecision => ({ orderId, at, zone: 'z', decision: 'waiting', reason: 'couriers_taken' });

t.test('decision recorder', async (t) => {
  const ctx = await createTestContext(t);
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  let down = false;
  // Postgres as the recorder sees it; `down` makes every query fail as an unreachable server would
  const db = { query: (...args: Parameters<Pool['query']>) => (down ? Promise.reject(new Error('connection refused')) : ctx.db.query(...args)) } as unknown as Pool;
  const latest = new LatestDecisions(ctx.redis);
  const recorder = new DecisionRecorder(latest, db, clock, createLogger({ level: 'silent' }), { maxBuffered: 3 });
  const rows = async () => (await ctx.db.query(`SELECT order_id, at FROM dispatch_decisions ORDER BY order_id`)).rows.map((r) => r.order_id as string);

  down = true;
  await recorder.record([decision('a', clock.now()), decision('b', clock.now())]);
  t.match(await latest.get('a'), { orderId: 'a', reason: 'couriers_taken' }, 'the latest decision is in Redis with Postgres down');
  await t.rejects(recorder.flush(), /connection refused/, 'the flush fails…');
  await recorder.record([decision('c', clock.now()), decision('d', clock.now())]);
  t.equal(recorder.dropped, 1, '…the batch is kept, the buffer bounded: the oldest decision is dropped');

  down = false;
  await recorder.flush();
  t.same(await rows(), ['b', 'c', 'd'], 'written once Postgres is back');
  await recorder.flush();
  t.same(await rows(), ['b', 'c', 'd'], 'each decision once');

  // history older than 7 days is pruned (at most hourly, on a flush)
  clock.advance(8 * 86_400_000);
  await recorder.record([decision('e', clock.now())]);
  await recorder.flush();
  t.same(await rows(), ['e'], 'a week later only the new decision is left');
  await recorder.stop();
});
