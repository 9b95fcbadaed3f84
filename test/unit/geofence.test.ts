import t from 'tap';
import { initialGeofence, metersBetween, stepGeofence, type Fix, type GeofenceState } from '../../src/domain/geofence.js';

const target = { lat: 52.52, lng: 13.405 };
const params = { radiusM: 50, exitRadiusM: 80, dwellMs: 20_000, maxAccuracyM: 30 };
// metres north of the target → lat offset
const north = (m: number) => target.lat + m / 111_320;
const fix = (m: number, ts: number, acc?: number): Fix => ({ lat: north(m), lng: target.lng, ts, acc });

function run(fixes: Fix[]): { arrivals: number[]; state: GeofenceState } {
  let state = initialGeofence;
  const arrivals: number[] = [];
  for (const f of fixes) {
    const r = stepGeofence(state, f, target, params);
    state = r.state;
    if (r.arrivedNow) arrivals.push(f.ts);
  }
  return { arrivals, state };
}

t.test('distance helper is metres', async (t) => {
  t.ok(Math.abs(metersBetween(target, { lat: north(100), lng: target.lng }) - 100) < 1);
});

t.test('arrives only after staying inside for the dwell time', async (t) => {
  const r = run([fix(200, 0), fix(30, 5_000), fix(20, 15_000), fix(10, 24_000), fix(5, 25_000), fix(0, 40_000)]);
  t.same(r.arrivals, [25_000], 'exactly one arrival, when the dwell completes (5 s + 20 s)');
  t.equal(r.state.arrived, true);
});

t.test('a short visit inside does not count', async (t) => {
  const r = run([fix(10, 0), fix(10, 10_000), fix(200, 15_000), fix(10, 20_000), fix(10, 30_000)]);
  t.same(r.arrivals, [], 'leaving beyond the exit radius resets the dwell');
});

t.test('a jittery track across the radius edge does not flap and still arrives', async (t) => {
  // oscillates 40 m ↔ 65 m (inside ↔ hysteresis band) every 2 s, with a deterministic jitter
  const fixes: Fix[] = [];
  for (let i = 0; i < 20; i++) fixes.push(fix(i % 2 === 0 ? 40 + (i % 3) : 65 - (i % 4), i * 2_000));
  const r = run(fixes);
  t.same(r.arrivals, [20_000], 'dwell started at the first inside fix and was never reset by band fixes');
});

t.test('the band alone never starts a dwell', async (t) => {
  const fixes: Fix[] = [];
  for (let i = 0; i < 30; i++) fixes.push(fix(60 + (i % 5) * 3, i * 2_000));
  t.same(run(fixes).arrivals, []);
});

t.test('poor-accuracy fixes neither start, break nor complete a dwell', async (t) => {
  t.same(run([fix(0, 0, 100), fix(0, 30_000, 100)]).arrivals, [], 'inaccurate fixes alone never arrive');
  // accurate inside at 0, an inaccurate "outside" fix, then accurate inside past the dwell
  t.same(run([fix(0, 0, 5), fix(500, 10_000, 200), fix(0, 21_000, 5)]).arrivals, [21_000]);
  // unknown accuracy counts as acceptable
  t.same(run([fix(0, 0), fix(0, 20_000)]).arrivals, [20_000]);
});

t.test('after arrival nothing changes', async (t) => {
  const r = run([fix(0, 0), fix(0, 20_000), fix(500, 30_000), fix(0, 60_000)]);
  t.same(r.arrivals, [20_000]);
});
