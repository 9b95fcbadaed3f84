import t from 'tap';
import { mkdtempSync, cpSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { MdrpInstanceError, readInstance, type MdrpInstanceErrorCode } from '../../../src/sim/mdrp/instance.js';
import { tinyDir, tinyInstance } from './support/fixtures.js';

t.test('reads an instance folder into typed data', async (t) => {
  const inst = readInstance(tinyDir);
  t.equal(inst.name, 'tiny');
  t.same(inst.params, {
    metersPerMinute: 100,
    pickupServiceMin: 4,
    dropoffServiceMin: 4,
    targetClickToDoorMin: 40,
    maxClickToDoorMin: 90,
    payPerOrder: 10,
    guaranteedPayPerHour: 15,
  });
  t.same(inst.restaurants.get('r2'), { id: 'r2', x: 1000, y: 0 });
  t.equal(inst.orders.length, 4);
  t.same(inst.orders[2], { id: 'o3', customer: { id: 'o3', x: 1000, y: 800 }, placementTime: 5, restaurantId: 'r2', readyTime: 20 });
  t.same(inst.couriers[1], { id: 'c2', start: { id: 'c2', x: 900, y: -100 }, onTime: 20, offTime: 90 });
});

t.test('a missing file fails with its name', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mdrp-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(tinyDir, dir, { recursive: true });
  rmSync(join(dir, 'couriers.txt'));
  t.throws(() => readInstance(dir), { code: 'MDRP_FILE_MISSING', message: /couriers\.txt/ });
  writeFileSync(join(dir, 'couriers.txt'), 'courier\tx\ty\ton_time\toff_time\n');
  t.throws(() => readInstance(dir), { code: 'MDRP_EMPTY' });
});

const bad: [string, MdrpInstanceErrorCode, RegExp, Parameters<typeof tinyInstance>[0]][] = [
  ['wrong header', 'MDRP_BAD_HEADER', /orders\.txt:1/, (f) => ({ orders: f.orders.replace('ready_time', 'ready') })],
  ['short line', 'MDRP_BAD_LINE', /orders\.txt:3/, (f) => ({ orders: f.orders.replace('o2\t0\t600\t2\tr1\t12', 'o2\t0\t600\t2\tr1') })],
  ['not a number', 'MDRP_BAD_VALUE', /couriers\.txt:2: x is not a number/, (f) => ({ couriers: f.couriers.replace('c1\t100', 'c1\tabc') })],
  ['fractional minute', 'MDRP_BAD_VALUE', /whole minutes/, (f) => ({ orders: f.orders.replace('\t0\tr1\t10', '\t0.5\tr1\t10') })],
  ['unknown restaurant', 'MDRP_UNKNOWN_RESTAURANT', /r9/, (f) => ({ orders: f.orders.replace('30\tr2', '30\tr9') })],
  ['duplicate order', 'MDRP_DUPLICATE_ID', /o1 appears twice/, (f) => ({ orders: f.orders + 'o1\t1\t1\t1\tr1\t5\n' })],
  ['ready before placement', 'MDRP_BAD_VALUE', /before it is placed/, (f) => ({ orders: f.orders.replace('\t0\tr1\t10', '\t11\tr1\t10') })],
  ['off before on', 'MDRP_BAD_VALUE', /goes off/, (f) => ({ couriers: f.couriers.replace('20\t90', '20\t10') })],
  ['zero speed', 'MDRP_BAD_VALUE', /meters_per_minute/, (f) => ({ parameters: f.parameters.replace('\n100\t', '\n0\t') })],
  ['two parameter lines', 'MDRP_BAD_LINE', /exactly one line/, (f) => ({ parameters: f.parameters + '100\t4\t4\t40\t90\t10\t15\n' })],
];
for (const [name, code, message, edit] of bad) {
  t.test(`rejects ${name} with ${code}`, async (t) => {
    const err = t.throws(() => tinyInstance(edit), { code, message }) as unknown;
    t.type(err, MdrpInstanceError);
  });
}
