/**
 * The dispatcher console in a real headless Chromium against the real app: it logs in with a
 * dispatcher token, draws couriers that move as a real courier socket streams positions, lists the
 * orders, and a pin override made in the UI changes the assignment on screen and in the API.
 */
import t from 'tap';
import type { Page } from 'playwright-core';
import { http, orderBody, PICKUP, until, WsClient } from '../integration/orders-helpers.js';
import { launchChromium, openPage, screenshot, webTestApp, renderedFeatures } from './browser.js';

interface Rendered {
  id: string;
  status: string;
  lng: number;
  lat: number;
}

/** Courier circles MapLibre actually drew (read back from the rendered layer, not from our own data). */
async function renderedCouriers(page: Page): Promise<Rendered[]> {
  return (await renderedFeatures(page, ['couriers'])).map(({ properties: p, point }) => ({ id: p.id, status: p.status, lng: point![0], lat: point![1] }));
}

async function courierOnline(wsUrl: string, token: string, lat: number, lng: number) {
  const ws = await WsClient.connect(`${wsUrl}/v1/courier`, token);
  const t0 = Date.now() - 120_000;
  let seq = 0;
  const move = async (toLat: number, toLng: number) => {
    seq++;
    ws.send({ type: 'loc', seq, ts: t0 + seq * 10_000, lat: toLat, lng: toLng, acc: 5 });
    const ack = await ws.nextOf('ack', (f) => f.seq === seq);
    if ((ack.rejected as unknown[]).length) throw new Error(`point refused: ${JSON.stringify(ack.rejected)}`);
  };
  await move(lat, lng);
  return { ws, move };
}

t.test('the console shows couriers moving and the orders, live', async (t) => {
  const { app } = await webTestApp(t);
  const { baseUrl, wsUrl, token } = app;
  const store = token('store', 's1');
  await http(baseUrl, 'POST', '/v1/orders', store, orderBody('e2e-open-1'));
  const c1 = await courierOnline(wsUrl, token('courier', 'c1'), PICKUP.lat + 0.002, PICKUP.lng);
  const c2 = await courierOnline(wsUrl, token('courier', 'c2'), PICKUP.lat - 0.002, PICKUP.lng + 0.003);
  t.teardown(() => [c1, c2].forEach((c) => c.ws.close()));

  const slash = await fetch(`${baseUrl}/console/?token=abc`, { redirect: 'manual' });
  t.match({ status: slash.status, location: slash.headers.get('location') }, { status: 302, location: '/console?token=abc' }, '/console/ leads to /console');

  const browser = await launchChromium(t);
  const page = await openPage(t, browser, baseUrl);
  await page.goto(`${baseUrl}/console?token=${token('dispatcher', 'd1')}`);
  t.notMatch(page.url(), /token=/, 'the token is taken out of the address bar');
  await page.waitForSelector('#couriers tr[data-courier-id="c1"]');
  await page.waitForSelector('#orders tr[data-status="placed"]');
  t.equal(await page.textContent('#conn'), 'live');
  t.equal(await page.textContent('#kpi-couriers'), '2', 'KPI panel: active couriers');
  t.match(await page.textContent('#kpi-waiting'), /^1 \(/, 'KPI panel: one order waiting, with its age');
  t.equal(await page.textContent('#orders tr[data-status="placed"] td.ext'), 'e2e-open-1');

  await until(async () => (await renderedCouriers(page)).length === 2, 10_000, 'both couriers drawn on the map');
  const before = (await renderedCouriers(page)).find((c) => c.id === 'c1')!;
  t.ok(Math.abs(before.lat - (PICKUP.lat + 0.002)) < 1e-4, 'c1 drawn where it is');
  t.equal(before.status, 'free');
  await screenshot(page, 'console-1-loaded');

  // the courier rides south (staying inside the view the map fitted): the list and the drawn marker follow
  for (let i = 1; i <= 3; i++) await c1.move(PICKUP.lat + 0.002 - i * 0.001, PICKUP.lng);
  const finalLat = PICKUP.lat - 0.001;
  await page.waitForFunction((lat) => (document.querySelector('#couriers tr[data-courier-id="c1"]') as HTMLElement | null)?.dataset.lat === String(lat), finalLat, { timeout: 10_000 });
  await until(
    async () => {
      const c = (await renderedCouriers(page)).find((r) => r.id === 'c1');
      return !!c && Math.abs(c.lat - finalLat) < 1e-4;
    },
    10_000,
    'the drawn marker moved',
  );
  const frames = await page.evaluate(() => (window as any).dispatchdConsole.frames as number);
  t.ok(frames >= 2, `live frames keep arriving (${frames})`);
  await screenshot(page, 'console-2-courier-moved');
});

t.test('a pin override from the order panel (after the comparison) changes the assignment on screen and in the API; refusals are shown', async (t) => {
  const { app } = await webTestApp(t);
  const { baseUrl, wsUrl, token } = app;
  const store = token('store', 's1');
  const dispatcher = token('dispatcher', 'd1');
  const orderId = (await http(baseUrl, 'POST', '/v1/orders', store, orderBody('e2e-pin-1'))).body.id as string;
  const c1 = await courierOnline(wsUrl, token('courier', 'c1'), PICKUP.lat + 0.002, PICKUP.lng);
  const c2 = await courierOnline(wsUrl, token('courier', 'c2'), PICKUP.lat - 0.002, PICKUP.lng);
  t.teardown(() => [c1, c2].forEach((c) => c.ws.close()));

  const browser = await launchChromium(t);
  const page = await openPage(t, browser, baseUrl);
  await page.goto(`${baseUrl}/console`);
  // no token yet: the login form takes a pasted one
  await page.waitForSelector('#login:not([hidden])');
  await page.fill('#token-input', token('courier', 'c1'));
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#login-error:has-text("dispatcher")');
  t.pass('a courier token is turned away with a reason');
  await page.fill('#token-input', dispatcher);
  await page.click('#login-form button[type=submit]');

  const row = `#orders tr[data-order-id="${orderId}"]`;
  await page.waitForSelector(row);
  await page.click(row);
  await page.waitForSelector('#detail[data-kind="order"] #assign-courier');
  t.equal(await page.$$eval('#assign-suggestions option', (os) => os.length), 2, 'the nearest couriers are suggested');
  await page.fill('#assign-courier', 'c2');
  await page.click('#act-preview');
  // the comparison with the optimizer's choice needs the explain feature's preview route; either way a confirm button follows
  await page.waitForSelector('#act-assign');
  t.match(await page.textContent('#assign-compare'), /c2/, 'the comparison names the chosen courier');
  await screenshot(page, 'console-3-before-pin');
  await page.click('#act-assign');
  await page.waitForSelector('#action-result[data-outcome="ok"]');
  await page.waitForSelector(`${row}[data-courier-id="c2"]`, { timeout: 10_000 });
  t.match(await page.textContent(`${row} td.courier`), /c2 \(pinned\)/, 'the list shows the pinned courier');
  const inApi = (await http(baseUrl, 'GET', `/v1/orders/${orderId}`, dispatcher)).body;
  t.match(inApi, { status: 'assigned', courierId: 'c2', pinned: true }, 'and the API agrees');
  await until(async () => (await renderedCouriers(page)).some((c) => c.id === 'c2' && c.status === 'busy'), 10_000, 'c2 drawn as busy');
  await page.waitForSelector('#timeline li[data-type="dispatcher_assigned"]', { timeout: 10_000 });
  t.pass('the timeline shows the dispatcher assignment');
  await screenshot(page, 'console-4-pinned');

  // unassign: back in the pool; a second unassign is refused and the reason is shown
  await page.click('#act-unassign');
  await page.waitForSelector(`${row}[data-courier-id=""]`, { timeout: 10_000 });
  t.match((await http(baseUrl, 'GET', `/v1/orders/${orderId}`, dispatcher)).body, { courierId: null, pinned: false });
  await page.waitForSelector('#timeline li[data-type="dispatcher_unassigned"]', { timeout: 10_000 });
  await page.click('#act-unassign');
  await page.waitForSelector('#action-result[data-outcome="error"]');
  t.match(await page.textContent('#action-result'), /order_not_assigned/, 'the API error code is shown');
  await screenshot(page, 'console-5-refused');

  // pause and resume a courier from its panel
  await page.click('#couriers tr[data-courier-id="c2"]');
  await page.click('#detail[data-kind="courier"] #act-pause');
  await page.waitForSelector('#couriers tr[data-courier-id="c2"][data-status="paused"]', { timeout: 10_000 });
  t.match((await http(baseUrl, 'GET', '/v1/couriers/c2', dispatcher)).body, { paused: true }, 'paused in the API');
  await page.click('#detail[data-kind="courier"] #act-resume');
  await page.waitForSelector('#couriers tr[data-courier-id="c2"][data-status="free"]', { timeout: 10_000 });
  t.match((await http(baseUrl, 'GET', '/v1/couriers/c2', dispatcher)).body, { paused: false }, 'resumed in the API');

  // cancel asks once more, then cancels
  await page.click(row);
  await page.click('#act-cancel');
  await page.click('#act-cancel-confirm');
  await page.waitForSelector(row, { state: 'detached', timeout: 10_000 });
  t.match((await http(baseUrl, 'GET', `/v1/orders/${orderId}`, dispatcher)).body, { status: 'cancelled' }, 'cancelled in the API');
});
