/** The Redis message bus between nodes: every subscriber resolves only once its messages can arrive. */
import t from 'tap';
import { RedisMessageBus } from '../../src/store/redis/pubsub.js';
import { createTestContext } from '../support/index.js';
import { until } from './orders-helpers.js';

t.test('a second subscriber of a channel resolves only once the SUBSCRIBE is active', async (t) => {
  const ctx = await createTestContext(t);
  for (let round = 0; round < 5; round++) {
    // a fresh bus (and subscriber connection) each round: the first SUBSCRIBE is as slow as it gets
    const bus = new RedisMessageBus(ctx.redis);
    t.teardown(() => bus.close());
    const channel = `chan-${round}`;
    const first: unknown[] = [];
    const second: unknown[] = [];
    const firstSubscribed = bus.subscribe(channel, (m) => first.push(m));
    await bus.subscribe(channel, (m) => second.push(m));
    // what a tracking socket does right after subscribing: anything published from now on must arrive
    await bus.publish(channel, { round });
    await firstSubscribed;
    await until(() => second.length === 1, 2000, `round ${round}: the second subscriber got the message`).catch(() => undefined);
    t.same(second, [{ round }], `round ${round}: the second subscriber did not miss the message`);
    t.same(first, [{ round }], `round ${round}: nor did the first`);
  }
});

t.test('a channel whose last subscriber left and a new one arrives is subscribed again', async (t) => {
  const ctx = await createTestContext(t);
  const bus = new RedisMessageBus(ctx.redis);
  t.teardown(() => bus.close());
  const got: unknown[] = [];
  const off = await bus.subscribe('again', () => undefined);
  const leaving = off();
  const on = bus.subscribe('again', (m) => got.push(m));
  await leaving;
  await on;
  await bus.publish('again', { n: 1 });
  await until(() => got.length === 1, 2000, 'message after re-subscribe');
  t.same(got, [{ n: 1 }]);
});
