import t from 'tap';
import { distanceM } from '../../../../src/domain/geo.js';
import { haversineMeters } from '../../../../src/dispatch/travel.js';
import { readInstance } from '../../../../src/sim/mdrp/instance.js';
import {
  DEFAULT_CITY_CENTRE,
  instanceMiddle,
  parseCentre,
  projectInstance,
  projectionAround,
} from '../../../../src/sim/live/projection.js';
import { repoRoot, tinyInstance } from '../support/fixtures.js';
import { join } from 'node:path';

const synthetic = readInstance(join(repoRoot, 'test/fixtures/mdrp/synthetic'));

t.test('the middle of the instance lands on the city centre', async (t) => {
  const inst = tinyInstance();
  // tiny spans x 0…1600 (restaurants, customers) and y −100…800 (courier c2 … customer o3)
  t.same(instanceMiddle(inst), { x: 800, y: 350 });
  const p = projectInstance(inst);
  t.same(p.toLatLng({ x: 800, y: 350 }), DEFAULT_CITY_CENTRE);
  const chicago = projectInstance(inst, { lat: 41.88, lng: -87.63 });
  t.same(chicago.toLatLng({ x: 800, y: 350 }), { lat: 41.88, lng: -87.63 });
});

t.test('great-circle distances between projected places match the planar metres', async (t) => {
  for (const centre of [DEFAULT_CITY_CENTRE, { lat: 41.88, lng: -87.63 }, { lat: -33.87, lng: 151.21 }]) {
    const proj = projectInstance(synthetic, centre);
    const places = [...synthetic.restaurants.values(), ...synthetic.orders.map((o) => o.customer), ...synthetic.couriers.map((c) => c.start)];
    let worst = 0;
    let longest = 0;
    for (let i = 0; i < places.length; i += 3) {
      for (let j = i + 1; j < places.length; j += 5) {
        const a = places[i]!;
        const b = places[j]!;
        const planar = Math.sqrt((a.x - b.x) ** 2 + (a.y - b.y) ** 2);
        if (planar < 500) continue;
        longest = Math.max(longest, planar);
        const ground = haversineMeters(proj.toLatLng(a), proj.toLatLng(b));
        worst = Math.max(worst, Math.abs(ground - planar) / planar);
        // the ingest pipeline's distance agrees too
        t.ok(Math.abs(distanceM(proj.toLatLng(a), proj.toLatLng(b)) - ground) < 1e-6 * planar + 1e-6);
      }
    }
    t.ok(longest > 5000, `pairs span a city (${longest.toFixed(0)} m)`);
    t.ok(worst < 0.002, `worst relative error ${worst} at ${centre.lat}`);
  }
});

t.test('toPlanar undoes toLatLng', async (t) => {
  const proj = projectionAround({ x: 5000, y: 5000 }, { lat: 52.52, lng: 13.405 });
  for (const p of [{ x: 0, y: 0 }, { x: 12_345, y: -6_789 }, { x: 5000, y: 5000 }]) {
    const back = proj.toPlanar(proj.toLatLng(p));
    t.ok(Math.abs(back.x - p.x) < 1e-6 && Math.abs(back.y - p.y) < 1e-6, `${p.x},${p.y}`);
  }
  // north is +y, east is +x
  const north = proj.toLatLng({ x: 5000, y: 6000 });
  const east = proj.toLatLng({ x: 6000, y: 5000 });
  t.ok(north.lat > 52.52 && north.lng === 13.405);
  t.ok(east.lng > 13.405 && east.lat === 52.52);
});

t.test('parseCentre reads "lat,lng" and refuses nonsense', async (t) => {
  t.same(parseCentre('41.88, -87.63'), { lat: 41.88, lng: -87.63 });
  for (const bad of ['', '41.88', '1,2,3', 'abc,1', '85,0', '0,200']) t.throws(() => parseCentre(bad), RangeError, bad);
  t.throws(() => projectionAround({ x: 0, y: 0 }, { lat: 89, lng: 0 }), RangeError);
});
