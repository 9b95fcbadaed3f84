import t from 'tap';
import { haversineMeters, haversineTravelModel, planarTravelModel } from '../../../src/dispatch/travel.js';

t.test('planar model applies the MDRP rule: ceil(metres / metres-per-minute) whole minutes', async (t) => {
  const m = planarTravelModel(320);
  t.equal(m.seconds({ x: 0, y: 0 }, { x: 0, y: 0 }), 0);
  t.equal(m.seconds({ x: 0, y: 0 }, { x: 320, y: 0 }), 60, 'exactly one minute');
  t.equal(m.seconds({ x: 0, y: 0 }, { x: 321, y: 0 }), 120, 'a metre more rounds up');
  t.equal(m.seconds({ x: 0, y: 0 }, { x: 300, y: 400 }), 120, '500 m → 2 min');
  t.equal(m.maxSpeedMps, 320 / 60);
  t.same(m.planar({ x: 5, y: 7 }), { x: 5, y: 7 });
  t.throws(() => planarTravelModel(0), RangeError);
});

t.test('planar pruning bound never exceeds the real travel time', async (t) => {
  const m = planarTravelModel(250);
  for (const d of [1, 99, 250, 251, 1234.5, 9999]) {
    t.ok(d / m.maxSpeedMps <= m.seconds({ x: 0, y: 0 }, { x: d, y: 0 }), `${d} m`);
  }
});

t.test('haversine model: great-circle metres at a constant speed, pruning stays a lower bound', async (t) => {
  const paris = { lat: 48.8566, lng: 2.3522 };
  const louvre = { lat: 48.8606, lng: 2.3376 };
  const d = haversineMeters(paris, louvre);
  t.ok(d > 1100 && d < 1200, `Paris centre → Louvre about 1.15 km (got ${d.toFixed(0)})`);
  const m = haversineTravelModel(5, { refLat: 48.85 });
  t.equal(m.seconds(paris, louvre), Math.ceil(d / 5));
  const a = m.planar(paris);
  const b = m.planar(louvre);
  const planarD = Math.hypot(a.x - b.x, a.y - b.y);
  t.ok(planarD / m.maxSpeedMps <= m.seconds(paris, louvre), 'planar distance / maxSpeed ≤ travel time');
  const noRef = haversineTravelModel(5);
  const c = noRef.planar(paris);
  const e = noRef.planar(louvre);
  t.ok(Math.hypot(c.x - e.x, c.y - e.y) / noRef.maxSpeedMps <= noRef.seconds(paris, louvre), 'safe without refLat too');
  t.throws(() => haversineTravelModel(-1), RangeError);
});
