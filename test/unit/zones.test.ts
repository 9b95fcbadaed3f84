import t from 'tap';
import { booleanPointInPolygon, polygon } from '@turf/turf';
import { seededRandom } from '../../src/domain/random.js';
import { ZoneIndex } from '../../src/domain/zone-index.js';
import { isZoneOpenAt, polygonsOf, zoneProblem, type Zone, type ZoneGeometry } from '../../src/domain/zones.js';
import { BOWTIE, polygonZone, square, zoneSettingsFixture } from '../support/zones.js';

const settings = zoneSettingsFixture();

t.test('zone validation names the problem', async (t) => {
  t.equal(zoneProblem(polygonZone(52.52, 13.4, 0.05), settings), null, 'a plain square is fine');
  const open: ZoneGeometry = { type: 'Polygon', coordinates: [square(52.52, 13.4, 0.05).slice(0, 4).concat([[13.3, 52.5]])] };
  t.match(zoneProblem(open, settings), { field: 'geometry.coordinates.0', message: /not closed/ });
  t.match(zoneProblem(BOWTIE, settings), { field: 'geometry.coordinates', message: /intersects itself at \[13\.400000, 52\.550000\]/ });
  const triangleTooShort: ZoneGeometry = { type: 'Polygon', coordinates: [[[13.3, 52.5], [13.4, 52.5], [13.3, 52.5]]] };
  t.match(zoneProblem(triangleTooShort, settings), { message: /at least 4 positions/ });
  t.match(zoneProblem(polygonZone(52.52, 13.4, 2), settings), { field: 'geometry', message: /exceeds 10000 km²/ });
  t.match(zoneProblem(polygonZone(52.52, 13.4, 0.0003), settings), { message: /below 0.01 km²/ });
  const multi: ZoneGeometry = { type: 'MultiPolygon', coordinates: [[square(52.52, 13.4, 0.05)], [[[200, 52], [13, 52], [13, 53], [200, 52]]]] };
  t.match(zoneProblem(multi, settings), { field: 'geometry.coordinates.1.0.0', message: /out of range/ });
  t.match(zoneProblem(polygonZone(52.52, 13.4, 0.05), { ...settings, timezone: 'Mars/Olympus' }), { field: 'timezone' });
  t.match(zoneProblem(polygonZone(52.52, 13.4, 0.05), { ...settings, fee: { ...settings.fee, currency: 'XXQ' } }), { field: 'fee.currency' });
  t.match(zoneProblem(polygonZone(52.52, 13.4, 0.05), { ...settings, fleet: 'carrier' }), { field: 'carrier' });
  t.match(zoneProblem(polygonZone(52.52, 13.4, 0.05), { ...settings, options: {} }), { field: 'options' });
  t.match(zoneProblem(polygonZone(52.52, 13.4, 0.05), { ...settings, hours: [{ from: '10:00', to: '10:00' }] }), { field: 'hours.0' });
});

t.test('opening hours in the zone’s time zone, across midnight', async (t) => {
  const s = { timezone: 'Europe/Berlin', hours: [{ from: '22:00', to: '02:00', days: [5] }, { from: '09:00', to: '17:00' }] };
  // Friday 2026-12-04 (CET = UTC+1)
  t.ok(isZoneOpenAt(s, Date.parse('2026-12-04T08:30:00Z')), 'Friday 09:30 local');
  t.notOk(isZoneOpenAt(s, Date.parse('2026-12-04T16:30:00Z')), 'Friday 17:30 local');
  t.ok(isZoneOpenAt(s, Date.parse('2026-12-04T22:30:00Z')), 'Friday 23:30 local');
  t.ok(isZoneOpenAt(s, Date.parse('2026-12-05T00:30:00Z')), 'Saturday 01:30 local, begun Friday');
  t.notOk(isZoneOpenAt(s, Date.parse('2026-12-06T00:30:00Z')), 'Sunday 01:30 local: Saturday night is not open');
  t.ok(isZoneOpenAt({ timezone: 'UTC', hours: [] }, 0), 'no hours: always');
});

/** A star-ish polygon with a hole, an L-shaped one and a multi-polygon, some overlapping. */
function zones(): Zone[] {
  const star: [number, number][] = [];
  for (let i = 0; i < 24; i++) {
    const a = (i / 24) * 2 * Math.PI;
    const r = i % 2 ? 0.03 : 0.07;
    star.push([13.4 + r * Math.cos(a) * 1.6, 52.52 + r * Math.sin(a)]);
  }
  star.push(star[0]);
  const hole = square(52.52, 13.4, 0.01).reverse();
  const l: [number, number][] = [
    [13.45, 52.48],
    [13.6, 52.48],
    [13.6, 52.51],
    [13.49, 52.51],
    [13.49, 52.6],
    [13.45, 52.6],
    [13.45, 52.48],
  ];
  const z = (id: string, geometry: ZoneGeometry, priority = 0): Zone => ({ id, geometry, settings: { ...settings, priority }, updatedAt: 0 });
  return [
    z('star', { type: 'Polygon', coordinates: [star, hole] }),
    z('ell', { type: 'Polygon', coordinates: [l] }, 5),
    z('multi', { type: 'MultiPolygon', coordinates: [[square(52.45, 13.3, 0.02)], [square(52.58, 13.52, 0.015)]] }),
  ];
}

t.test('index lookups equal a brute-force polygon test on randomized points', async (t) => {
  const all = zones();
  for (const z of all) t.equal(zoneProblem(z.geometry!, z.settings), null, `${z.id} is valid`);
  const index = new ZoneIndex(all);
  const features = all.map((z) => ({ z, polys: polygonsOf(z.geometry!).map((r) => polygon(r)) }));
  const random = seededRandom(13);
  let inside = 0;
  let mismatches = 0;
  for (let i = 0; i < 20_000; i++) {
    const p = { lat: 52.4 + random() * 0.22, lng: 13.2 + random() * 0.45 };
    const brute = features
      .filter((f) => f.polys.some((poly) => booleanPointInPolygon([p.lng, p.lat], poly)))
      .map((f) => f.z)
      .sort((a, b) => b.settings.priority - a.settings.priority || (a.id < b.id ? -1 : 1))
      .map((z) => z.id);
    const got = index.zonesAt(p).map((z) => z.id);
    if (brute.length) inside++;
    if (JSON.stringify(got) !== JSON.stringify(brute)) {
      mismatches++;
      if (mismatches < 5) t.fail(`point ${p.lat},${p.lng}: index ${got} vs brute ${brute}`);
    }
  }
  t.equal(mismatches, 0, 'no point differs');
  t.ok(inside > 2000 && inside < 18_000, `both inside and outside points were tried (${inside} inside)`);
  // points right on and next to edges, where the exact check decides
  const ring = (all[1].geometry as { coordinates: [number, number][][] }).coordinates[0];
  for (let i = 0; i + 1 < ring.length; i++) {
    for (const f of [0.1, 0.5, 0.9]) {
      for (const eps of [-1e-7, 0, 1e-7]) {
        const p = { lng: ring[i][0] + (ring[i + 1][0] - ring[i][0]) * f + eps, lat: ring[i][1] + (ring[i + 1][1] - ring[i][1]) * f + eps };
        t.equal(index.zonesAt(p).some((z) => z.id === 'ell'), booleanPointInPolygon([p.lng, p.lat], features[1].polys[0]), `edge ${i} at ${f}${eps}`);
      }
    }
  }
  t.same(index.zonesAt({ lat: 52.52, lng: 13.4 }), [], 'the hole of the star is outside');
  t.equal(index.find({ lat: 52.49, lng: 13.47 })?.id, 'ell', 'overlap: the higher priority wins');
});

t.test('a zone without geometry (the built-in default) contains every point', async (t) => {
  const index = new ZoneIndex([{ id: 'default', geometry: null, settings, updatedAt: 0 }]);
  t.equal(index.find({ lat: -33.9, lng: 18.4 })?.id, 'default');
});
