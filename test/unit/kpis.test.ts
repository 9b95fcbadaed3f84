/** The console KPIs: on-time share, click-to-door percentiles, waiting orders, cost per order. */
import t from 'tap';
import { consoleKpis, courierPay, percentile, GUARANTEED_PAY_PER_HOUR, PAY_PER_ORDER, type DeliveredOrder } from '../../src/domain/kpis.js';

const MIN = 60_000;
const H = 3_600_000;

t.test('nearest-rank percentiles', async (t) => {
  t.equal(percentile([], 0.5), null);
  t.equal(percentile([7], 0.9), 7);
  t.equal(percentile([5, 1, 4, 2, 3], 0.5), 3, 'median of five');
  t.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9), 9);
  t.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.5), 5);
});

t.test('KPIs over the window', async (t) => {
  const now = 10 * H;
  const d = (placedMin: number, deliveredMin: number, promisedMin: number, courierId = 'c1'): DeliveredOrder => ({
    courierId,
    placedAt: now - placedMin * MIN,
    deliveredAt: now - deliveredMin * MIN,
    promisedBy: now - promisedMin * MIN,
    assignedAt: now - placedMin * MIN + MIN,
  });
  const k = consoleKpis({
    now,
    windowMs: H,
    delivered: [
      d(50, 30, 20), // 20 min, on time
      d(60, 20, 30), // 40 min, late
      d(40, 10, 5, 'c2'), // 30 min, on time
      d(200, 90, 80), // delivered before the window: ignored
    ],
    waitingPlacedAt: [now - 12 * MIN, now - 3 * MIN],
    activeCouriers: 4,
  });
  t.match(k, { windowMs: H, delivered: 3, onTimePct: 66.7, clickToDoorP50Min: 30, clickToDoorP90Min: 40, waiting: 2, oldestWaitingMin: 12, activeCouriers: 4 });
  t.type(k.costPerOrder, 'number');

  const empty = consoleKpis({ now, windowMs: H, delivered: [], waitingPlacedAt: [], activeCouriers: 0 });
  t.match(empty, { delivered: 0, onTimePct: null, clickToDoorP50Min: null, clickToDoorP90Min: null, waiting: 0, oldestWaitingMin: null, costPerOrder: null });
});

t.test('cost per order: the larger of per-order pay and the hourly guarantee, per courier', async (t) => {
  const start = 0;
  // c1: 2 orders over 3 hours of work → guarantee 45 > 20; c2: 4 orders in 1 hour → 40 > 15
  const orders: DeliveredOrder[] = [
    { courierId: 'c1', placedAt: 0, assignedAt: 0, promisedBy: 0, deliveredAt: 1 * H },
    { courierId: 'c1', placedAt: 2 * H, assignedAt: 2 * H, promisedBy: 0, deliveredAt: 3 * H },
    ...[1, 2, 3, 4].map((i) => ({ courierId: 'c2', placedAt: 0, assignedAt: 0, promisedBy: 0, deliveredAt: (i / 4) * H })),
  ];
  t.equal(courierPay(orders, start), 3 * GUARANTEED_PAY_PER_HOUR + 4 * PAY_PER_ORDER);
  t.equal(courierPay(orders, 2 * H), 2 * PAY_PER_ORDER + 4 * PAY_PER_ORDER, 'hours are not counted before the window starts');
  const k = consoleKpis({ now: 3 * H, windowMs: 3 * H, delivered: orders, waitingPlacedAt: [], activeCouriers: 2 });
  t.equal(k.costPerOrder, Math.round((100 * (45 + 40)) / 6) / 100);
});
