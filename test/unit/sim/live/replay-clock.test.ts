import t from 'tap';
import { ManualClock } from '../../../../src/clock.js';
import { ReplayClock } from '../../../../src/sim/live/replay-clock.js';

t.test('held at its start until started, then speed times the wall clock', async (t) => {
  const wall = new ManualClock(1_000);
  const clock = new ReplayClock(50_000, 10, wall);
  const fired: string[] = [];
  clock.setTimeout(() => fired.push(`a@${clock.now()}`), 5_000);
  const cancel = clock.setTimeout(() => fired.push('cancelled'), 1_000);
  cancel();
  wall.advance(60_000);
  t.equal(clock.now(), 50_000, 'booting takes no simulated time');
  t.same(fired, []);
  t.notOk(clock.started);
  clock.start();
  clock.start();
  t.ok(clock.started);
  wall.advance(499);
  t.equal(clock.now(), 54_990);
  t.same(fired, []);
  wall.advance(1);
  t.same(fired, ['a@55000'], 'a timer set while held fires at start + its delay');
  clock.setTimeout(() => fired.push(`b@${clock.now()}`), 2_000);
  wall.advance(200);
  t.same(fired, ['a@55000', 'b@57000']);
  t.throws(() => new ReplayClock(0, 0), RangeError);
});
