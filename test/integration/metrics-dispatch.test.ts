/**
 * The dispatch loop feeds /metrics: a round that commits an offer shows up as a committed round, an
 * offer committed and a solve-time sample; a round with nothing to do as an idle round.
 */
import t from 'tap';
import { ManualClock } from '../../src/clock.js';
import { createTestContext, buildTestApp } from '../support/index.js';
import { city } from './dispatch-helpers.js';

function sample(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(name + ' ') || l === name);
  return line ? Number(line.slice(name.length + 1)) : 0;
}

t.test('dispatch rounds are counted in /metrics', async (t) => {
  const ctx = await createTestContext(t, { WEBHOOK_SENDER: 'off', DISPATCH: 'off' });
  const clock = new ManualClock(Date.now());
  const app = await buildTestApp(ctx, { clock });
  const scrape = async () => {
    const res = await fetch(`${app.baseUrl}/metrics`, { headers: { authorization: `Bearer ${app.token('admin', 'a1')}` } });
    t.equal(res.status, 200);
    return res.text();
  };
  const c = city(app, clock, { lat: 48.137, lng: 11.575 }, t.teardown.bind(t));
  await c.courier('m-c1', 200, 0);
  await c.order('m-o1');

  const before = await scrape();
  t.equal(sample(before, 'dispatch_rounds_total{outcome="committed"}'), 0, 'no round yet');

  const r = await app.app.dispatcher.runRound(c.zone);
  t.match(r, { committed: 1 });
  const idle = await app.app.dispatcher.runRound(c.zone);
  t.match(idle, { committed: 0 });

  const after = await scrape();
  t.equal(sample(after, 'dispatch_rounds_total{outcome="committed"}'), 1, 'the committing round');
  t.equal(sample(after, 'dispatch_rounds_total{outcome="idle"}'), 1, 'the round with nothing left to offer');
  t.equal(sample(after, 'dispatch_offers_committed_total'), 1);
  t.equal(sample(after, 'dispatch_solve_seconds_count'), 2, 'one solve-time sample per round');
  t.equal(sample(after, 'offers_made_total'), 1, 'the offer service counted the same offer');
});
