import t from 'tap';
import { ManualClock, acceleratedClock } from '../../src/clock.js';

t.test('manual clock fires timers in time order and only when due', async (t) => {
  const clock = new ManualClock(1000);
  const fired: string[] = [];
  clock.setTimeout(() => fired.push('b'), 200);
  clock.setTimeout(() => fired.push('a'), 100);
  const cancel = clock.setTimeout(() => fired.push('never'), 150);
  cancel();
  clock.advance(99);
  t.same(fired, []);
  clock.advance(101);
  t.same(fired, ['a', 'b']);
  t.equal(clock.now(), 1200);
});

t.test('accelerated clock multiplies elapsed wall time', async (t) => {
  let wallNow = 0;
  const wall = { now: () => wallNow, setTimeout: () => () => {} };
  const clock = acceleratedClock(5_000, 60, wall);
  t.equal(clock.now(), 5_000);
  wallNow = 1_000;
  t.equal(clock.now(), 65_000);
  t.throws(() => acceleratedClock(0, 0, wall));
});
