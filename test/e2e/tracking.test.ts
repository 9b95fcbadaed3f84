/**
 * The customer tracking page in a real headless Chromium on a phone-sized screen: the order is driven
 * through offer, accept, pickup and delivery over the real courier socket, and the page follows with
 * its status, ETA and the courier on the map.
 */
import t from 'tap';
import type { Page } from 'playwright-core';
import { http, orderBody, PICKUP, DROPOFF, until, WsClient } from '../integration/orders-helpers.js';
import { launchChromium, openPage, screenshot, webTestApp, renderedFeatures } from './browser.js';

const PHONE = { width: 390, height: 844 };

function pageState(page: Page): Promise<{ status: string; eta: number | null; courier: { lat: number; lng: number; coarse: boolean } | null }> {
  return page.evaluate(() => (window as any).dispatchdTrack.state);
}

/** What MapLibre drew on the tracking map, by layer. */
async function drawn(page: Page, layer: string): Promise<{ lng: number; lat: number; props: Record<string, unknown> }[]> {
  return (await renderedFeatures(page, [layer], 'dispatchdTrack')).map(({ properties, point }) => ({ lng: point![0], lat: point![1], props: properties }));
}

t.test('the tracking page follows the order from placement to delivery', async (t) => {
  const { app } = await webTestApp(t);
  const { baseUrl, wsUrl, token } = app;
  const store = token('store', 's1');
  const orderId = (await http(baseUrl, 'POST', '/v1/orders', store, orderBody('e2e-track-1'))).body.id as string;
  const link = (await http(baseUrl, 'POST', `/v1/orders/${orderId}/tracking-link`, store)).body;
  t.match(link.pageUrl, /^\/track\/[\w.-]+$/, 'the tracking link names the page');

  const browser = await launchChromium(t);
  const page = await openPage(t, browser, baseUrl, PHONE);
  await page.goto(`${baseUrl}${link.pageUrl}`);
  await page.waitForSelector('#status[data-status="placed"]');
  t.equal(await page.textContent('#eta'), '–', 'no ETA before a courier is found');
  await until(async () => (await drawn(page, 'places')).length === 2, 10_000, 'store and destination drawn');
  const places = await drawn(page, 'places');
  const store_ = places.find((p) => p.props.kind === 'store')!;
  const home = places.find((p) => p.props.kind === 'home')!;
  t.ok(Math.abs(store_.lat - PICKUP.lat) < 1e-4 && Math.abs(home.lat - DROPOFF.lat) < 1e-4, 'at the pickup and the drop-off');
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  t.ok(width <= PHONE.width, `fits a phone screen without sideways scrolling (${width}px)`);
  await screenshot(page, 'track-1-placed');

  // a courier comes online, gets the offer over its socket and accepts it
  const courier = await WsClient.connect(`${wsUrl}/v1/courier`, token('courier', 'c1'));
  t.teardown(() => courier.close());
  const t0 = Date.now() - 300_000;
  let seq = 0;
  const at = async (lat: number, lng: number) => {
    seq++;
    courier.send({ type: 'loc', seq, ts: t0 + seq * 20_000, lat, lng, acc: 5 });
    t.same((await courier.nextOf('ack', (f) => f.seq === seq)).rejected, [], `fix ${seq} accepted`);
  };
  await at(PICKUP.lat - 0.006, PICKUP.lng - 0.004);
  t.match(await http(baseUrl, 'POST', `/v1/orders/${orderId}/offer`, token('dispatcher', 'd1'), { courierId: 'c1' }), { status: 201 }, 'offered');
  const offer = await courier.nextOf('offer');
  courier.send({ type: 'offer.accept', offerId: offer.offerId });
  await courier.nextOf('offer.accepted');
  await page.waitForSelector('#status[data-status="assigned"]');

  await at(PICKUP.lat - 0.004, PICKUP.lng - 0.003);
  await page.waitForFunction(() => (document.getElementById('eta') as HTMLElement).dataset.eta !== '');
  const firstEta = (await pageState(page)).eta!;
  t.ok(firstEta > Date.now() - 600_000, 'an ETA is shown');
  t.not(await page.textContent('#eta'), '–');
  t.match((await pageState(page)).courier, { coarse: true }, 'before pickup only the courier’s area');
  await until(async () => (await drawn(page, 'courier')).length === 1, 10_000, 'courier drawn');
  await screenshot(page, 'track-2-assigned');

  // picked up: the exact position, and the ETA follows the ride to the customer
  for (const status of ['arrived_pickup', 'picked_up'] as const) {
    courier.send({ type: 'status', orderId, status });
    await courier.nextOf('status.ack', (f) => f.orderId === orderId);
  }
  await page.waitForSelector('#status[data-status="picked_up"]');
  t.match(await page.textContent('#status'), /On the way/);
  await at(PICKUP.lat, PICKUP.lng);
  await until(async () => (await pageState(page)).courier?.coarse === false, 10_000, 'exact position after pickup');
  const pickupEta = (await pageState(page)).eta!;
  await at((PICKUP.lat + DROPOFF.lat) / 2, (PICKUP.lng + DROPOFF.lng) / 2);
  await until(async () => (await pageState(page)).courier?.lat === (PICKUP.lat + DROPOFF.lat) / 2, 10_000, 'courier moved on the page');
  const laterEta = (await pageState(page)).eta!;
  t.not(laterEta, pickupEta, 'the ETA changes as the courier rides');
  // MapLibre draws a new source state a frame or two later
  await until(
    async () => (await drawn(page, 'courier')).some((m) => Math.abs(m.lat - (PICKUP.lat + DROPOFF.lat) / 2) < 1e-4),
    10_000,
    'the drawn courier marker is where the courier is',
  );
  t.pass('the drawn courier marker is where the courier is');
  await screenshot(page, 'track-3-on-the-way');

  for (const status of ['arrived_dropoff', 'delivered'] as const) {
    courier.send({ type: 'status', orderId, status });
    await courier.nextOf('status.ack', (f) => f.orderId === orderId);
  }
  await page.waitForSelector('#status[data-status="delivered"]');
  t.equal(await page.textContent('#eta'), 'delivered');
  t.equal(await page.locator('#steps li.done').count(), 4, 'every step done');
  await screenshot(page, 'track-4-delivered');
});

t.test('a tracking link for nothing says so instead of spinning', async (t) => {
  const { app } = await webTestApp(t);
  const browser = await launchChromium(t);
  const page = await openPage(t, browser, app.baseUrl, PHONE);
  await page.goto(`${app.baseUrl}/track/not-a-token`);
  await page.waitForSelector('#status[data-status="refused"]');
  t.match(await page.textContent('#status'), /invalid or has expired/);
  // a well-formed token for another order is refused by the service (1008) and explained
  const forged = app.token('customer', 'x');
  await page.goto(`${app.baseUrl}/track/${forged}`);
  await page.waitForSelector('#status[data-status="refused"]');
  const res = await fetch(`${app.baseUrl}/track/${forged}`);
  t.equal(res.status, 200, 'the page itself is public (the token guards the data)');
  t.match(await res.text(), /<script type="module" src="\/web\/track.js">/);
});
