import t from 'tap';
import { haversineMeters, haversineTravelModel, type LatLng } from '../../src/dispatch/travel.js';
import { calibratedTravelModel, legsOfTrail, TravelCalibration, type TrailFix, type TravelLeg } from '../../src/domain/travel-calibration.js';

const T0 = Date.UTC(2026, 0, 5, 12); // 12:00 UTC
const ORIGIN = { lat: 48.137, lng: 11.575 };
const M_PER_DEG_LAT = 111_195;

function at(p: LatLng, northM: number, eastM: number): LatLng {
  return { lat: p.lat + northM / M_PER_DEG_LAT, lng: p.lng + eastM / (M_PER_DEG_LAT * Math.cos((p.lat * Math.PI) / 180)) };
}

/** A courier drives east `eastM` then north `northM` at `mps`, a fix every 5 s, then stands still `stopS`. */
function lTrip(from: LatLng, startMs: number, eastM: number, northM: number, mps: number, stopS = 60): TrailFix[] {
  const out: TrailFix[] = [];
  const ex = Math.abs(eastM);
  const total = ex + Math.abs(northM);
  const steps = Math.round(total / mps / 5);
  for (let i = 0; i <= steps; i++) {
    const s = (total * i) / steps;
    const p = s <= ex ? at(from, 0, Math.sign(eastM) * s) : at(from, Math.sign(northM) * (s - ex), eastM);
    out.push({ ts: startMs + i * 5000, ...p });
  }
  const end = out.at(-1)!;
  for (let i = 1; i <= stopS / 5; i++) out.push({ ts: end.ts + i * 5000, lat: end.lat, lng: end.lng });
  return out;
}

/** Trips one after another from `from`, each starting where the last stopped. */
function trail(from: LatLng, startMs: number, n: number, eastM: number, northM: number, mps: number): TrailFix[] {
  const out: TrailFix[] = [];
  let p = from;
  let ts = startMs;
  for (let i = 0; i < n; i++) {
    // there and back again, so a trail stays in its zone
    const sign = i % 2 === 0 ? 1 : -1;
    const trip = lTrip(p, ts, sign * eastM, sign * northM, mps);
    out.push(...trip);
    const last = trip.at(-1)!;
    p = { lat: last.lat, lng: last.lng };
    ts = last.ts + 5000;
  }
  return out;
}

const west = (p: LatLng) => (p.lng < ORIGIN.lng + 0.5 ? 'west' : 'east');

t.test('one L-shaped trip: over ground, straight line and time measured; the stop ends the leg', async (t) => {
  const legs = legsOfTrail(lTrip(ORIGIN, T0, 1000, 1000, 5), west);
  t.equal(legs.length, 1);
  const [l] = legs;
  t.ok(Math.abs(l.pathM - 2000) < 5, `path ${l.pathM.toFixed(1)} m`);
  t.ok(Math.abs(l.straightM - 1000 * Math.SQRT2) < 5, `straight ${l.straightM.toFixed(1)} m`);
  t.equal(l.durationS, 400);
  t.equal(l.zone, 'west');
  t.equal(l.hour, 12);
});

t.test('stops, gaps, GPS jumps and short hops are not legs', async (t) => {
  const stillOnly = Array.from({ length: 20 }, (_, i) => ({ ts: T0 + i * 5000, ...ORIGIN }));
  t.same(legsOfTrail(stillOnly, west), [], 'standing still');
  t.same(legsOfTrail(lTrip(ORIGIN, T0, 100, 0, 5), west), [], 'a 100 m hop (under minStraightM)');
  const trip = lTrip(ORIGIN, T0, 1000, 1000, 5, 0);
  const gapped = [...trip.slice(0, 40), ...trip.slice(40).map((f) => ({ ...f, ts: f.ts + 120_000 }))];
  const legs = legsOfTrail(gapped, west);
  t.equal(legs.length, 2, 'a 2-min gap cuts the trip in two');
  const jump = [...trip.slice(0, 41), { ts: trip[40].ts + 5000, ...at(ORIGIN, 50_000, 0) }, ...trip.slice(41).map((f) => ({ ...f, ts: f.ts + 5000 }))];
  t.ok(legsOfTrail(jump, west).every((l) => l.pathM < 3000), 'a 50-km GPS jump is not travel');
});

t.test('known factors are recovered per zone; a thin zone falls back; no data is the prior', async (t) => {
  // west: Manhattan trips (detour √2) at 5 m/s over ground; east: straight trips at 8 m/s
  const w = legsOfTrail(trail(ORIGIN, T0, 100, 600, 600, 5), west);
  const e = legsOfTrail(trail(at(ORIGIN, 0, 80_000), T0, 100, 1500, 0, 8), west);
  t.equal(w.length, 100);
  t.equal(e.length, 100);
  const cal = new TravelCalibration([...w, ...e], { priorStraightMps: 4.5, priorDetour: 1.3 });
  const fw = cal.factors('west', 12);
  t.equal(fw.level, 'zone-hour');
  t.ok(Math.abs(fw.detour - Math.SQRT2) / Math.SQRT2 < 0.05, `west detour ${fw.detour.toFixed(3)} ≈ √2`);
  t.ok(Math.abs(fw.speedMps - 5) / 5 < 0.05, `west speed ${fw.speedMps.toFixed(2)} ≈ 5`);
  t.ok(Math.abs(fw.straightMps - 5 / Math.SQRT2) / (5 / Math.SQRT2) < 0.06, `west straight-line ${fw.straightMps.toFixed(2)} ≈ 3.54`);
  const fe = cal.factors('east', 12);
  t.ok(Math.abs(fe.detour - 1) < 0.05, `east detour ${fe.detour.toFixed(3)} ≈ 1`);
  t.ok(Math.abs(fe.speedMps - 8) / 8 < 0.06, `east speed ${fe.speedMps.toFixed(2)} ≈ 8`);
  t.equal(cal.factors('west', 3).level, 'zone', 'an hour without legs: the zone level');
  t.equal(cal.factors('nowhere', 12).level, 'global', 'a zone without legs: the global level');

  const thin = new TravelCalibration([...w, ...e.slice(0, 3)], { minSamples: 5 });
  t.equal(thin.factors('east', 12).level, 'global', '3 legs < minSamples: not a level of its own');

  const none = new TravelCalibration([], { priorStraightMps: 4.5, priorDetour: 1.3 });
  const p = none.factors('west', 12);
  t.same([p.level, p.samples], ['prior', 0]);
  t.ok(Math.abs(p.straightMps - 4.5) < 1e-9, 'no data: the configured straight-line speed');
  t.ok(Math.abs(p.detour - 1.3) < 1e-9);
});

t.test('hours differ within a zone', async (t) => {
  const noon = legsOfTrail(trail(ORIGIN, T0, 50, 1000, 0, 7), west);
  const rush = legsOfTrail(trail(ORIGIN, T0 + 6 * 3_600_000, 50, 1000, 0, 3), west);
  const cal = new TravelCalibration([...noon, ...rush], { priorWeight: 1 });
  t.ok(Math.abs(cal.factors('west', 12).speedMps - 7) < 0.5, '12h fast');
  t.ok(Math.abs(cal.factors('west', 18).speedMps - 3) < 0.5, '18h slow');
});

t.test('the calibrated travel model: the zone’s straight-line speed; without data, the haversine model', async (t) => {
  const base = haversineTravelModel(4.5);
  const a = ORIGIN;
  const b = at(ORIGIN, 1000, 1000);
  const none = calibratedTravelModel(base, new TravelCalibration([], { priorStraightMps: 4.5 }), west, T0);
  t.equal(none.seconds(a, b), base.seconds(a, b), 'uncalibrated: exactly today’s model');
  const legs: TravelLeg[] = legsOfTrail(trail(ORIGIN, T0, 60, 600, 600, 5), west);
  const cal = new TravelCalibration(legs, { priorStraightMps: 4.5 });
  const m = calibratedTravelModel(base, cal, west, T0);
  const straight = cal.factors('west', 12).straightMps;
  t.equal(m.seconds(a, b), Math.ceil(haversineMeters(a, b) / straight));
  t.ok(m.seconds(a, b) > base.seconds(a, b), 'Manhattan detours at 5 m/s are slower than 4.5 m/s straight');
  t.ok(m.maxSpeedMps >= base.maxSpeedMps, 'the pruning bound never shrinks below the base');
  const fast = new TravelCalibration(legsOfTrail(trail(ORIGIN, T0, 60, 1500, 0, 9), west), { priorStraightMps: 4.5 });
  const mf = calibratedTravelModel(base, fast, west, T0);
  t.ok(mf.maxSpeedMps >= (base.maxSpeedMps * fast.factors('west', 12).straightMps) / 4.5 - 1e-9, 'and grows with the fastest calibrated speed');
});
