import t from 'tap';
import { cellToLatLng, getResolution } from 'h3-js';
import {
  cellOf,
  distanceM,
  isValidLatLng,
  cellDisk,
  cellDiskOf,
  turfDistanceM,
  ringAround,
  ringGeometry,
  ringLowerBoundM,
  ringsAround,
  ringsToCover,
  zoneOf,
  ZONE_RESOLUTION,
} from '../../src/domain/geo.js';

t.test('cellOf returns a cell of the requested resolution containing the point', async (t) => {
  const cell = cellOf(52.52, 13.405, 9);
  t.equal(getResolution(cell), 9);
  const [lat, lng] = cellToLatLng(cell);
  t.ok(distanceM({ lat, lng }, { lat: 52.52, lng: 13.405 }) < 250, 'centre is near the point at res 9');
  t.equal(getResolution(zoneOf(cell)), ZONE_RESOLUTION);
});

t.test('ringAround and ringsAround agree on the cells of a disk', async (t) => {
  const cell = cellOf(40.7128, -74.006, 9);
  t.equal(ringAround(cell, 0).length, 1);
  t.equal(ringAround(cell, 2).length, 19);
  const rings = ringsAround(cell, 2);
  t.same(rings[0], [cell]);
  t.equal(rings[1].length, 6);
  t.equal(rings[2].length, 12);
  t.same(new Set(rings.flat()), new Set(ringAround(cell, 2)));
});

t.test('distanceM matches known great-circle distances', async (t) => {
  // Berlin Alexanderplatz to Brandenburger Tor: about 2.6 km.
  const d = distanceM({ lat: 52.5219, lng: 13.4132 }, { lat: 52.5163, lng: 13.3777 });
  t.ok(d > 2400 && d < 2600, `got ${d}`);
  t.equal(distanceM({ lat: 10, lng: 10 }, { lat: 10, lng: 10 }), 0);
  // One degree of latitude is ~111.2 km.
  t.ok(Math.abs(distanceM({ lat: 0, lng: 5 }, { lat: 1, lng: 5 }) - 111195) < 5);
});

t.test('distanceM equals turf distance', async (t) => {
  let seed = 3;
  const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  let worst = 0;
  for (let i = 0; i < 1000; i++) {
    const a = { lat: -89 + rand() * 178, lng: -180 + rand() * 360 };
    const b = i % 2 ? { lat: a.lat + (rand() - 0.5) * 0.01, lng: a.lng + (rand() - 0.5) * 0.01 } : { lat: -89 + rand() * 178, lng: -180 + rand() * 360 };
    worst = Math.max(worst, Math.abs(distanceM(a, b) - turfDistanceM(a, b)));
  }
  t.ok(worst < 1e-6, `largest difference ${worst} m`);
});

t.test('isValidLatLng rejects out of range, non-finite and exactly (0,0)', async (t) => {
  t.ok(isValidLatLng(52.5, 13.4));
  t.ok(isValidLatLng(-90, 180));
  t.ok(isValidLatLng(0, 0.0001));
  t.notOk(isValidLatLng(0, 0));
  t.notOk(isValidLatLng(90.0001, 0));
  t.notOk(isValidLatLng(10, -180.5));
  t.notOk(isValidLatLng(Number.NaN, 1));
  t.notOk(isValidLatLng(1, Number.POSITIVE_INFINITY));
});

t.test('ring lower bounds never exceed the real distance to cells that far away', async (t) => {
  // Randomised: for cells k rings away, the distance between any two of their vertices/centres must be
  // at least the bound — otherwise nearby search could miss couriers.
  let seed = 7;
  const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  let violations = 0;
  for (let trial = 0; trial < 30; trial++) {
    const lat = -60 + rand() * 120;
    const lng = -180 + rand() * 360;
    const origin = cellOf(lat, lng, 9);
    const geom = ringGeometry(origin);
    t.ok(geom.centerSpacingM > 100 && geom.centerSpacingM < 600, 'res 9 spacing is a few hundred metres');
    const rings = ringsAround(origin, 6);
    const [olat, olng] = cellToLatLng(origin);
    for (let k = 2; k <= 6; k++) {
      for (const c of rings[k]) {
        const [clat, clng] = cellToLatLng(c);
        const centres = distanceM({ lat: olat, lng: olng }, { lat: clat, lng: clng });
        // Centres minus both circumradii is the closest any two points of the two cells can be.
        if (centres - 2 * geom.circumradiusM * 1.05 < ringLowerBoundM(geom, k)) violations++;
      }
    }
  }
  t.equal(violations, 0, 'no cell is closer than the bound says');
});

t.test('ringsToCover grows with the radius and covers it', async (t) => {
  const geom = ringGeometry(cellOf(48.8566, 2.3522, 9));
  const k1 = ringsToCover(geom, 500);
  const k2 = ringsToCover(geom, 5000);
  t.ok(k2 > k1);
  t.ok(ringLowerBoundM(geom, k2 + 1) > 5000, 'the first ring left out is entirely beyond the radius');
  t.ok(ringLowerBoundM(geom, k2) <= 5000);
  t.equal(ringLowerBoundM(geom, 1), 0);
});

t.test('a point inside a cell disk is in that cell (randomized, pentagons included)', async (t) => {
  let seed = 11;
  const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const { getPentagons } = await import('h3-js');
  const cells = [...getPentagons(9), ...Array.from({ length: 300 }, () => cellOf(-85 + rand() * 170, -180 + rand() * 360, 9))];
  let wrong = 0;
  let checked = 0;
  for (const cell of cells) {
    const disk = cellDisk(cell);
    t.equal(disk.cell, cell);
    for (let i = 0; i < 20; i++) {
      // A point at a random bearing and distance up to the disk radius (small-offset approximation).
      const r = disk.radiusM * Math.sqrt(rand());
      const bearing = rand() * 2 * Math.PI;
      const lat = disk.lat + (r * Math.cos(bearing)) / 111_320;
      const lng = disk.lng + (r * Math.sin(bearing)) / (111_320 * Math.cos((disk.lat * Math.PI) / 180));
      if (distanceM(disk, { lat, lng }) > disk.radiusM) continue;
      checked++;
      if (cellOf(lat, lng, 9) !== cell) wrong++;
    }
  }
  t.ok(checked > 3000, `${checked} points checked`);
  t.equal(wrong, 0, 'no point in a disk belongs to another cell');
});

t.test('cellDiskOf reuses the known disk inside it and looks the cell up outside it', async (t) => {
  const home = cellDisk(cellOf(52.52, 13.405, 9));
  t.equal(cellDiskOf(home.lat, home.lng, 9, home), home, 'same object: no lookup');
  const far = cellDiskOf(52.6, 13.405, 9, home);
  t.not(far.cell, home.cell);
  t.equal(far.cell, cellOf(52.6, 13.405, 9));
  t.equal(cellDiskOf(52.6, 13.405, 9, null).cell, far.cell);
});
