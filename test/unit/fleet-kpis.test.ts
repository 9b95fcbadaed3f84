/** KPIs by fleet (domain/fleet-kpis.ts): own pay rule vs carrier costs per currency, ordering, rounding. */
import t from 'tap';
import { fleetKpi, fleetKpis, OWN_FLEET } from '../../src/domain/fleet-kpis.js';
import { consoleKpis, shiftsOf, type DeliveredOrder } from '../../src/domain/kpis.js';

const MIN = 60_000;
const H = 3_600_000;

t.test('own fleet: courier pay rule, in the service currency', async (t) => {
  // c1: 3 deliveries over 30 min → max(3 × $10, 0.5 h × $15) = $30; c2: 1 delivery over 4 h → max($10, $60) = $60; 1 without courier → $10
  const k = fleetKpi(
    {
      fleet: OWN_FLEET,
      placed: 6,
      delivered: 5,
      onTime: 4,
      ctdP50Ms: 20 * MIN,
      ctdP90Ms: 40 * MIN,
      shifts: [
        { courierId: 'c1', orders: 3, start: 0, end: 30 * MIN },
        { courierId: 'c2', orders: 1, start: 0, end: 4 * H },
      ],
      unattributed: 1,
    },
    'EUR',
  );
  t.same(k, { fleet: 'own', placed: 6, delivered: 5, onTime: 4, late: 1, onTimePct: 80, ctdP50Ms: 20 * MIN, ctdP90Ms: 40 * MIN, cost: [{ currency: 'EUR', orders: 5, perOrder: 20 }] });
});

t.test('carrier: what it charged, per currency, never converted; unpriced deliveries count but cost nothing', async (t) => {
  const k = fleetKpi(
    {
      fleet: 'simcarrier',
      placed: 4,
      delivered: 4,
      onTime: 1,
      ctdP50Ms: 30 * MIN,
      ctdP90Ms: 50 * MIN,
      carrierCosts: [
        { currency: 'USD', orders: 2, totalMinor: 1499 }, // 14.99 / 2 = 7.495 → 7.50
        { currency: 'JPY', orders: 1, totalMinor: 900 }, // no minor unit: ¥900
      ],
    },
    'EUR',
  );
  t.same(k.cost, [
    { currency: 'JPY', orders: 1, perOrder: 900 },
    { currency: 'USD', orders: 2, perOrder: 7.5 },
  ]);
  t.equal(k.onTimePct, 25);
  t.equal(k.late, 3);
});

t.test('order: own first and always present, then carriers by name; no deliveries → nulls and no cost', async (t) => {
  const none = (fleet: string) => ({ fleet, placed: 1, delivered: 0, onTime: 0, ctdP50Ms: null, ctdP90Ms: null });
  const ks = fleetKpis([none('zcarrier'), none('acarrier')], 'USD');
  t.same(
    ks.map((k) => k.fleet),
    ['own', 'acarrier', 'zcarrier'],
  );
  t.same(ks[0], { fleet: 'own', placed: 0, delivered: 0, onTime: 0, late: 0, onTimePct: null, ctdP50Ms: null, ctdP90Ms: null, cost: [] });
  t.same(ks[1]!.cost, []);
});

t.test('shifts start at the assignment but not before the window', async (t) => {
  const d = (courierId: string | null, assignedAt: number | null, placedAt: number, deliveredAt: number): DeliveredOrder => ({ courierId, assignedAt, placedAt, deliveredAt, promisedBy: deliveredAt });
  const s = shiftsOf([d('c1', 5 * MIN, 0, 20 * MIN), d('c1', null, 30 * MIN, 50 * MIN), d('c2', -10 * MIN, -20 * MIN, 10 * MIN), d(null, null, 0, 1)], 0);
  t.same(s, {
    shifts: [
      { courierId: 'c1', orders: 2, start: 5 * MIN, end: 50 * MIN },
      { courierId: 'c2', orders: 1, start: 0, end: 10 * MIN },
    ],
    unattributed: 1,
  });
});

t.test("the console's overall cost per order counts own deliveries only", async (t) => {
  const now = 10 * H;
  const d = (fleet: string | undefined): DeliveredOrder => ({ courierId: fleet === 'own' || !fleet ? 'c1' : null, placedAt: now - 30 * MIN, assignedAt: now - 30 * MIN, deliveredAt: now - 10 * MIN, promisedBy: now, ...(fleet ? { fleet } : {}) });
  const k = consoleKpis({ now, windowMs: H, delivered: [d(undefined), d('own'), d('simcarrier')], waitingPlacedAt: [], activeCouriers: 1 });
  t.equal(k.delivered, 3, 'every delivery counts in delivered');
  t.equal(k.costPerOrder, 10, 'c1: max(2 × $10, 20 min × $15/h) / 2; the carrier delivery is not paid as $10');
});
