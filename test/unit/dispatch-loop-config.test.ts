/** Config keys of the dispatch loop and the service clock (CLOCK_SPEED, CLOCK_START). */
import t from 'tap';
import { acceleratedClock, ManualClock, serviceClock } from '../../src/clock.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { defaultPolicy } from '../../src/dispatch/policy.js';
import { servicePolicy } from '../../src/runtime/service-policy.js';

t.test('dispatch loop defaults', async (t) => {
  const c = loadConfig({});
  t.equal(c.dispatch, 'on');
  t.equal(c.dispatchIntervalMs, 60_000);
  t.equal(c.dispatchDebounceMs, 2000);
  t.equal(c.dispatchZoneResolution, 5);
  t.equal(c.dispatchRoundBudgetMs, 500);
  t.equal(c.courierCapacity, 4);
  t.equal(c.clockSpeed, 1);
  t.equal(c.clockStart, undefined, 'unset: the clock starts now');
});

t.test('dispatch loop values and refusals', async (t) => {
  const c = loadConfig({ DISPATCH: 'off', DISPATCH_ZONE_RESOLUTION: '7', H3_RESOLUTION: '9', CLOCK_SPEED: '60', CLOCK_START: '2026-03-01T08:00:00Z' });
  t.equal(c.dispatch, 'off');
  t.equal(c.dispatchZoneResolution, 7);
  t.equal(c.clockSpeed, 60);
  t.equal(c.clockStart, Date.parse('2026-03-01T08:00:00Z'), 'ISO start');
  t.equal(loadConfig({ CLOCK_START: '1772352000000' }).clockStart, 1772352000000, 'epoch ms start');

  const refused = (env: Record<string, string>, key: string) => {
    try {
      loadConfig(env);
      t.fail(`${JSON.stringify(env)} accepted`);
    } catch (err) {
      t.ok(err instanceof ConfigError && err.key === key, `${JSON.stringify(env)} → ${key}`);
    }
  };
  refused({ DISPATCH: 'yes' }, 'DISPATCH');
  refused({ DISPATCH_ZONE_RESOLUTION: '10' }, 'DISPATCH_ZONE_RESOLUTION');
  refused({ DISPATCH_ZONE_RESOLUTION: '8', H3_RESOLUTION: '7' }, 'DISPATCH_ZONE_RESOLUTION');
  refused({ DISPATCH_INTERVAL_MS: '0' }, 'DISPATCH_INTERVAL_MS');
  refused({ DISPATCH_ROUND_BUDGET_MS: 'fast' }, 'DISPATCH_ROUND_BUDGET_MS');
  refused({ COURIER_CAPACITY: '0' }, 'COURIER_CAPACITY');
  refused({ DISPATCH_POLICY: 'readySpareQuantile' }, 'DISPATCH_POLICY');
  refused({ DISPATCH_POLICY: 'noSuchKey=1' }, 'DISPATCH_POLICY');
  refused({ DISPATCH_POLICY: 'timeWeight=2' }, 'DISPATCH_POLICY');
  refused({ DISPATCH_POLICY: 'maxMs=10' }, 'DISPATCH_POLICY');
  refused({ DISPATCH_POLICY: 'timeWeight=0.8,timeWeight=0.9' }, 'DISPATCH_POLICY');
  refused({ CLOCK_SPEED: '0' }, 'CLOCK_SPEED');
  refused({ CLOCK_SPEED: '-2' }, 'CLOCK_SPEED');
  refused({ CLOCK_START: 'tomorrow' }, 'CLOCK_START');
});

t.test('DISPATCH_POLICY: the rounds run the defaults, the operator overrides and the round budget', async (t) => {
  t.same(servicePolicy(loadConfig({})), { ...defaultPolicy, maxMs: 500 });
  const p = servicePolicy(loadConfig({ DISPATCH_POLICY: 'readySpareQuantile=0, timeWeight=0.8', DISPATCH_ROUND_BUDGET_MS: '200' }));
  t.equal(p.readySpareQuantile, 0);
  t.equal(p.timeWeight, 0.8);
  t.equal(p.maxMs, 200);
  t.equal(p.readyQuantile, defaultPolicy.readyQuantile, 'keys not named keep their defaults');
  try {
    loadConfig({ DISPATCH_POLICY: 'timeWeight=fast' });
    t.fail('accepted');
  } catch (err) {
    t.match((err as Error).message, /DISPATCH_POLICY is invalid: policy timeWeight=fast is invalid: expected a number in \[0, 1\]/);
  }
});

t.test('serviceClock: the wall clock unless a speed or a start is configured', async (t) => {
  const wall = new ManualClock(1_000_000);
  t.equal(serviceClock({ speed: 1 }, wall), wall, 'speed 1, no start: the wall clock itself');

  const fast = serviceClock({ speed: 60 }, wall);
  t.equal(fast.now(), 1_000_000, 'starts now');
  wall.advance(1000);
  t.equal(fast.now(), 1_060_000, 'a wall second is a service minute');

  const replay = serviceClock({ speed: 1, startMs: 5_000 }, wall);
  t.equal(replay.now(), 5_000, 'a start alone shifts the clock');
  wall.advance(10);
  t.equal(replay.now(), 5_010);

  // timers on the accelerated clock fire after ms/speed of wall time
  const fired: number[] = [];
  fast.setTimeout(() => fired.push(fast.now()), 60_000);
  wall.advance(999);
  t.same(fired, []);
  wall.advance(1);
  t.equal(fired.length, 1, 'a service minute of timer is a wall second');
  t.same(acceleratedClock(0, 2, wall).now(), 0);
});
