import t from 'tap';
import { MAX_SCHEDULE_AHEAD_MS, quotedPromise, windowProblem } from '../../src/domain/delivery-promise.js';

const now = 1_800_000_000_000; // a whole minute
const min = 60_000;
const base = { now, readyAt: now + 600_000, tripS: 900, pickupS: 240, dropoffS: 240, safetyMarginMin: 5, floorMin: 30 };

t.test('promise from the courier’s reach, ready time, trip and margin', async (t) => {
  // courier at pickup +300 s; pickup = max(300 + 120, 600) = 600 s; delivered 600 + 120 + 900 + 120 = 1740 s (29 min); + 5 = 34 min
  t.same(quotedPromise({ ...base, courierAtPickup: now + 300_000 }), { promisedBy: now + 34 * min, estimate: now + 1_740_000 });
  // courier late: at +1800 s → pickup 1920 s, delivered 3060 s (51 min) + 5 → 56 min
  t.match(quotedPromise({ ...base, courierAtPickup: now + 1_800_000 }), { promisedBy: now + 56 * min });
  // rounded up to the minute: delivered 1741 s → 29:01 + 5 → 35 min
  t.match(quotedPromise({ ...base, tripS: 901, courierAtPickup: now + 300_000 }), { promisedBy: now + 35 * min });
});

t.test('never earlier than the floor; refused past maxMin or without a courier', async (t) => {
  // everything quick: 120 + 120 + 60 + 120 = 420 s + 5 min = 12 min < floor 30
  t.match(quotedPromise({ ...base, readyAt: now, tripS: 60, courierAtPickup: now }), { promisedBy: now + 30 * min });
  t.same(quotedPromise({ ...base, courierAtPickup: now + 1_800_000, maxMin: 45 }), { reason: 'cannot_meet_promise' });
  t.match(quotedPromise({ ...base, courierAtPickup: now + 1_800_000, maxMin: 56 }), { promisedBy: now + 56 * min }, 'exactly at maxMin is fine');
  t.same(quotedPromise({ ...base, courierAtPickup: null }), { reason: 'no_courier' });
});

t.test('scheduled windows', async (t) => {
  const input = { ...base, courierAtPickup: now + 300_000 };
  t.equal(windowProblem({ from: now + 60 * min, to: now + 90 * min }, input), null);
  t.equal(windowProblem({ from: now - 90 * min, to: now - 60 * min }, input), 'window_in_past');
  t.equal(windowProblem({ from: now + MAX_SCHEDULE_AHEAD_MS + min, to: now + MAX_SCHEDULE_AHEAD_MS + 60 * min }, input), 'window_too_far');
  // earliest with margin is 34 min: a window ending at 33 min is too soon
  t.equal(windowProblem({ from: now, to: now + 33 * min }, input), 'window_too_soon');
  t.equal(windowProblem({ from: now, to: now + 34 * min }, input), null);
  t.equal(windowProblem({ from: now + 60 * min, to: now + 90 * min }, { ...input, courierAtPickup: null }), null, 'a later window needs no courier now');
});
