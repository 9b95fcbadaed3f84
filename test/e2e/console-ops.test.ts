/**
 * The dispatcher's day in a real headless Chromium: an order's detail panel (facts, event timeline,
 * dispatch decisions as far as the service records them, tracking link, the waiting reason), an order
 * made late on purpose (a 1-minute promise, pinned to a far courier) raising an alert that opens the
 * order and clears once it is delivered, the courier's planned route drawn on the map, search and
 * filters, and the page in Simplified Chinese.
 */
import t from 'tap';
import type { Page } from 'playwright-core';
import { DROPOFF, http, orderBody, PICKUP, until, WsClient } from '../integration/orders-helpers.js';
import { launchChromium, openPage, screenshot, webTestApp, renderedFeatures } from './browser.js';

async function courierOnline(wsUrl: string, token: string, lat: number, lng: number) {
  const ws = await WsClient.connect(`${wsUrl}/v1/courier`, token);
  ws.send({ type: 'loc', seq: 1, ts: Date.now() - 1000, lat, lng, acc: 5 });
  await ws.nextOf('ack', (f) => f.seq === 1);
  return ws;
}

async function renderedCount(page: Page, layer: string): Promise<number> {
  return (await renderedFeatures(page, [layer])).length;
}

t.test('order detail, a late alert that opens the order and clears on delivery, the courier route, search, zh-CN', async (t) => {
  // a one-minute promise: any courier more than a minute away makes the order late
  const { app } = await webTestApp(t, { PROMISE_EXPRESS_MIN: '1' });
  const { baseUrl, wsUrl, token } = app;
  const store = token('store', 's1');
  const dispatcher = token('dispatcher', 'd1');
  const lateId = (await http(baseUrl, 'POST', '/v1/orders', store, orderBody('late-1'))).body.id as string;
  const otherId = (await http(baseUrl, 'POST', '/v1/orders', store, orderBody('search-me', { dropoff: { lat: DROPOFF.lat - 0.004, lng: DROPOFF.lng } }))).body.id as string;
  const far = await courierOnline(wsUrl, token('courier', 'c1'), PICKUP.lat + 0.02, PICKUP.lng + 0.01);
  const near = await courierOnline(wsUrl, token('courier', 'c2'), PICKUP.lat - 0.001, PICKUP.lng);
  t.teardown(() => [far, near].forEach((ws) => ws.close()));

  const browser = await launchChromium(t);
  const page = await openPage(t, browser, baseUrl);
  // the day's KPI buckets: GET /v1/kpis belongs to the explain feature; its answer here is a fixture, so the
  // charts are tested on their own (the endpoint has its own integration tests)
  const kpiQueries: string[] = [];
  await page.route('**/v1/kpis?*', (route) => {
    kpiQueries.push(new URL(route.request().url()).search);
    const start = new Date().setHours(0, 0, 0, 0);
    const buckets = Array.from({ length: 8 }, (_, i) => ({
      start: start + i * 900_000,
      placed: 10 + i,
      delivered: 8 + i,
      onTime: 7 + i,
      late: 1,
      onTimePct: Math.round(((7 + i) / (8 + i)) * 1000) / 10,
      ctdP50Ms: (25 + i) * 60_000,
      ctdP90Ms: (40 + i) * 60_000,
    }));
    return route.fulfill({ json: { from: start, to: start + 8 * 900_000, bucketMs: 900_000, buckets } });
  });
  await page.goto(`${baseUrl}/console?token=${dispatcher}`);
  const row = (id: string) => `#orders tr[data-order-id="${id}"]`;
  await page.waitForSelector(row(lateId));
  t.equal(await page.textContent('#alerts-badge'), '0', 'no alert while the orders are young and unassigned');
  await page.waitForSelector('#chart-volume .uplot');
  t.equal(await page.$$eval('#charts .uplot', (els) => els.length), 3, 'three KPI charts drawn');
  t.match(kpiQueries[0], /^\?from=\d+&to=\d+&bucket=900000$/, 'asked for 15-minute buckets of the service day');
  t.match(await page.textContent('#chart-ctd .u-legend'), /p50.*p90/, 'click-to-door p50 and p90 series');

  // the order panel: facts, the placed event, decisions (or a clear note when the service keeps none), a tracking link
  await page.click(row(lateId));
  await page.waitForSelector(`#detail[data-id="${lateId}"] #timeline li[data-type="placed"]`);
  const facts = await page.textContent('#detail');
  t.match(facts, /Alexanderplatz 1/, 'the pickup address');
  t.match(facts, /Invalidenstr\. 10/, 'the drop-off address');
  t.match(facts, /express/, 'the delivery option');
  t.ok((await page.$('#decisions')) || /dispatch round|does not record/.test(facts ?? ''), 'the dispatch decisions, or why there are none');
  await page.click('text=Create tracking link');
  await page.waitForSelector('#tracking-url');
  t.match(await page.getAttribute('#tracking-url', 'href'), /\/track\/ey/, 'a tracking page link for the customer');

  // the waiting reason from the latest dispatch decision (the explain feature's `dispatch` field), rendered from a state frame
  const why = await page.evaluate((id) => {
    const h = (window as any).dispatchdConsole;
    const s = structuredClone(h.state);
    const o = s.orders.find((x: any) => x.id === id);
    o.dispatch = { decision: 'waiting', reason: 'couriers_taken', at: s.at, nearest: { courierId: 'c2', etaPickupAt: s.at + 180_000, freesAt: s.at + 180_000 } };
    h.apply(s);
    return document.querySelector(`#orders tr[data-order-id="${id}"] td.why`)!.textContent;
  }, lateId);
  t.equal(why, 'waiting: courier c2 frees up in 3 min', 'the waiting reason next to the order');

  // made late on purpose: pinned to the far courier, its predicted drop-off is past the promise
  t.match(await http(baseUrl, 'POST', `/v1/orders/${lateId}/assign`, dispatcher, { courierId: 'c1' }), { status: 200 });
  const alert = `#alerts-list li[data-kind="late"][data-order-id="${lateId}"]`;
  await page.click('#alerts-toggle');
  await page.waitForSelector(alert, { timeout: 10_000 });
  t.match(await page.textContent(alert), /late-1 (will be|is) late by/, 'the alert says how late');
  t.not(await page.textContent('#alerts-badge'), '0', 'the badge counts it');
  await page.click(`#couriers tr[data-courier-id="c2"]`);
  await page.click(alert);
  await page.waitForSelector(`#detail[data-kind="order"][data-id="${lateId}"]`);
  t.pass('clicking the alert opens the order');
  await page.waitForSelector('#detail .late');
  await screenshot(page, 'console-ops-1-late-alert');

  // the far courier's planned route: from where it is through the pickup and the drop-off
  await page.click('#couriers tr[data-courier-id="c1"]');
  await page.waitForSelector('#detail[data-kind="courier"] ol.stops li');
  t.equal(await page.$$eval('#detail ol.stops li', (lis) => lis.length), 2, 'two planned stops listed');
  await until(async () => (await renderedCount(page, 'route')) > 0, 10_000, 'route drawn');
  await until(async () => (await renderedCount(page, 'route-stops')) === 2, 10_000, 'both stops drawn');
  t.pass('the route and its stops are drawn on the map');
  await screenshot(page, 'console-ops-2-courier-route');

  // delivered: the alert clears
  for (const status of ['arrived_pickup', 'picked_up', 'arrived_dropoff', 'delivered'] as const) {
    far.send({ type: 'status', orderId: lateId, status });
    await far.nextOf('status.ack', (f) => f.orderId === lateId);
  }
  await page.waitForSelector(alert, { state: 'detached', timeout: 10_000 });
  t.pass('the alert is gone once the order is delivered');

  // search and filters
  await page.fill('#search', 'search-me');
  await until(async () => (await page.$$eval('#orders tbody tr', (rs) => rs.length)) === 1, 5000, 'one order matches');
  t.equal(await page.textContent('#orders tbody tr td.ext'), 'search-me');
  await page.press('#search', 'Enter');
  await page.waitForSelector(`#detail[data-kind="order"][data-id="${otherId}"]`);
  t.pass('Enter on an exact id opens it');
  await page.fill('#search', '');
  await page.selectOption('#filter-courier', 'paused');
  await until(async () => (await page.$$eval('#couriers tbody tr', (rs) => rs.length)) === 0, 5000, 'no paused courier');
  await page.selectOption('#filter-courier', 'free');
  await until(async () => (await page.$$eval('#couriers tbody tr', (rs) => rs.length)) === 2, 5000, 'both couriers are free again');
  await page.fill('#search', 'c2');
  await until(async () => (await page.$$eval('#couriers tbody tr', (rs) => rs.length)) === 1, 5000, 'courier search');
  await page.fill('#search', '');
  await page.selectOption('#filter-courier', '');

  // Simplified Chinese: labels, status words, KPI labels and numbers through Intl
  await page.selectOption('#lang', 'zh-CN');
  await page.waitForFunction(() => document.documentElement.lang === 'zh-CN');
  t.equal(await page.textContent('#kpis > div:first-child .label'), '准时率', 'KPI label in Chinese');
  t.equal(await page.textContent('#charts figure:first-child figcaption'), '准时率 %', 'chart caption in Chinese');
  t.match(await page.textContent('#chart-volume .u-legend'), /下单.*送达/, 'chart series in Chinese');
  await page.waitForSelector('#couriers tr[data-courier-id="c2"] .st:has-text("空闲")');
  t.pass('the status word in Chinese');
  t.equal(await page.textContent('#conn'), '实时');
  await screenshot(page, 'console-ops-3-zh-CN');
  // the choice is kept
  await page.reload();
  await page.waitForSelector('#couriers tr[data-courier-id="c2"] .st:has-text("空闲")');
  t.equal(await page.textContent('#orders-section h2 span'), '订单', 'still Chinese after a reload');
});
