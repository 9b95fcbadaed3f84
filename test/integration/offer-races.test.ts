/**
 * Issue 11: an accept racing the offer's expiry. Exactly one transition commits, and the courier hears
 * only about that one: `offer.accepted` alone, or the late-accept answer `offer_expired` plus exactly one
 * `offer.expired` push — never accepted-then-expired, never expired twice. Real courier sockets, Redis
 * pub/sub and Postgres transactions, 40 trials.
 */
import t from 'tap';
import { ManualClock } from '../../src/clock.js';
import { createTestContext, buildTestApp } from '../support/index.js';
import { http, orderBody, WsClient, type Frame } from './orders-helpers.js';

const TRIALS = 40;

t.test('accept vs expiry: one outcome per offer, notified once, by the transition that committed', async (t) => {
  const ctx = await createTestContext(t, { OFFER_TTL_MS: '30000', WEBHOOK_SENDER: 'off' });
  // the clock stays before the expiry, so the accept passes its clock check and the race is decided in Postgres
  const clock = new ManualClock(Date.now());
  const { app, baseUrl, wsUrl, token } = await buildTestApp(ctx, { clock });
  const store = token('store', 's1');
  const { offers } = app.orders;
  const outcomes = { accepted: 0, expired: 0 };

  for (let i = 0; i < TRIALS; i++) {
    const courierId = `rx-${i}`;
    const c = await WsClient.connect(`${wsUrl}/v1/courier`, token('courier', courierId));
    await c.nextOf('task');
    const id = (await http(baseUrl, 'POST', '/v1/orders', store, orderBody(`race-exp-${i}`))).body.id as string;
    const made = await offers.offer(courierId, [id], { role: 'dispatcher', id: 'd1' });
    await c.nextOf('offer', (f) => f.offerId === made.offerId);

    c.send({ type: 'offer.accept', offerId: made.offerId });
    await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 4)));
    const expired = await offers.expire(made.offerId);
    const answer = await c.next((f) => f.type === 'offer.accepted' || (f.type === 'error' && f.frame === 'offer.accept'));
    await offers.idle();
    // let any push still travelling through Redis pub/sub arrive
    await new Promise((r) => setTimeout(r, 60));

    const about = (f: Frame) => f.offerId === made.offerId || f.type === 'error';
    const told = c.frames.filter((f) => about(f) && f.type !== 'offer').map((f) => (f.type === 'error' ? `error:${f.code}` : f.type));
    const row = (await ctx.db.query('SELECT status FROM offers WHERE id = $1', [made.offerId])).rows[0].status as string;
    const order = (await http(baseUrl, 'GET', `/v1/orders/${id}`, token('dispatcher', 'd1'))).body;
    if (answer.type === 'offer.accepted') {
      outcomes.accepted++;
      t.same(told, ['offer.accepted'], `trial ${i}: accepted, and told only that`);
      t.equal(expired, false, `trial ${i}: the expiry did not commit`);
      t.equal(row, 'accepted');
      t.equal(order.status, 'assigned');
    } else {
      outcomes.expired++;
      t.same(told.sort(), ['error:offer_expired', 'offer.expired'], `trial ${i}: expired, one late-accept answer and one push`);
      t.equal(row, 'expired');
      t.equal(order.status, 'placed');
    }
    c.close();
    await c.closed;
  }
  t.equal(outcomes.accepted + outcomes.expired, TRIALS);
  t.comment(`accept won ${outcomes.accepted}, expiry won ${outcomes.expired}`);
});
