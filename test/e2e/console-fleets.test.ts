/**
 * The console's KPI panel split by fleet, in a real headless Chromium: delivered orders of the own
 * fleet and of the carrier `simcarrier` written into Postgres, the table #kpi-fleets shows one row per
 * fleet with its deliveries, on-time share and cost per order (the carrier's in its own currency).
 */
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { launchChromium, openPage, screenshot, webTestApp } from './browser.js';

const MIN = 60_000;

t.test('the KPI panel shows own vs carrier', async (t) => {
  const { ctx, app } = await webTestApp(t, { CURRENCY: 'EUR' });
  const now = Date.now();
  let n = 0;
  const put = async (fleet: string, deliveredAgoMin: number, late: boolean, cost?: [number, string], courier?: string) => {
    n++;
    const delivered = now - deliveredAgoMin * MIN;
    await ctx.db.query(
      `INSERT INTO orders (id, store_id, external_id, request_hash, status, version, zone, pickup_lat, pickup_lng, dropoff_lat, dropoff_lng,
                           items, size, placed_at, ready_at, ready_known, delivery_option, promised_by, created_at, updated_at,
                           courier_id, fleet, carrier_delivery_id, carrier_cost_minor, carrier_cost_currency)
       VALUES ($1, 's1', $2, 'h', 'delivered', 1, 'z', 52.5, 13.4, 52.51, 13.41, 1, 1, $3, $3, true, 'express', $4, $3, $5, $6, $7, $8, $9, $10)`,
      [
        randomUUID(),
        `f${n}`,
        new Date(delivered - 30 * MIN),
        new Date(late ? delivered - MIN : delivered + MIN),
        new Date(delivered),
        courier ?? null,
        fleet,
        fleet === 'own' ? null : `d${n}`,
        cost?.[0] ?? null,
        cost?.[1] ?? null,
      ],
    );
  };
  // own: c1 two deliveries (one late), 30 min each from placement → max(2 × 10, ~0.6 h × 15) = €20 / 2 = €10
  await put('own', 20, false, undefined, 'c1');
  await put('own', 15, true, undefined, 'c1');
  // simcarrier: three on time, one late; priced 6.00 + 7.00 + 8.00 + 9.00 USD → $7.50
  for (const [i, late] of [false, false, false, true].entries()) await put('simcarrier', 10 + i, late, [600 + 100 * i, 'USD']);

  const browser = await launchChromium(t);
  const page = await openPage(t, browser, app.baseUrl);
  await page.goto(`${app.baseUrl}/console?token=${app.token('dispatcher', 'd1')}`);
  await page.waitForSelector('#kpi-fleets tbody tr[data-fleet="simcarrier"]', { timeout: 30_000 });
  const rows = await page.$$eval('#kpi-fleets tbody tr', (trs) =>
    trs.map((tr) => ({
      fleet: (tr as HTMLElement).dataset.fleet,
      cells: Object.fromEntries(Array.from(tr.querySelectorAll('td')).map((td) => [(td as HTMLElement).dataset.col, td.textContent])),
    })),
  );
  await screenshot(page, 'console-fleets');
  t.same(
    rows.map((r) => r.fleet),
    ['own', 'simcarrier'],
    'own first, then the carrier',
  );
  t.match(rows[0]!.cells, { fleet: 'Own couriers', delivered: '2', ontime: '50 %', ctd: /30 min \/ 30 min/ });
  t.match(rows[0]!.cells.cost, /€\s?10\.00|10\.00\s?€/, 'own: courier pay per delivery in the service currency');
  t.match(rows[1]!.cells, { fleet: 'simcarrier', delivered: '4', ontime: '75 %' });
  t.match(rows[1]!.cells.cost, /\$7\.50/, 'the carrier: what it charged, in its own currency (not converted)');
});
