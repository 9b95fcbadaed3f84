/**
 * The console draws the delivery zones (issue 13) in a real headless Chromium: zones created through
 * PUT /v1/zones appear as polygons on the map (features read back from MapLibre's renderer) with their
 * name and who serves them as a label; a zone added, changed or deleted while the console is open is
 * redrawn without a reload (the state frame's zonesVersion changes, the page reloads GET /v1/zones).
 */
import t from 'tap';
import type { Page } from 'playwright-core';
import { http, PICKUP, until } from '../integration/orders-helpers.js';
import { polygonZone, zoneSettingsFixture } from '../support/zones.js';
import { launchChromium, openPage, screenshot, webTestApp, renderedFeatures } from './browser.js';

interface DrawnZone {
  id: string;
  name: string;
  fleet: string;
  servedBy: string;
}

/** Zone polygons MapLibre drew (fill layer), one entry per zone id. */
async function drawnZones(page: Page): Promise<DrawnZone[]> {
  const byId = new Map<string, DrawnZone>();
  for (const { properties: p } of await renderedFeatures(page, ['zones-fill'])) {
    byId.set(p.id, { id: p.id, name: p.name, fleet: p.fleet, servedBy: p.servedBy });
  }
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
}

const zoneLabels = (page: Page) => page.$$eval('#labels .ml-zone:not([hidden])', (nodes) => nodes.map((n) => n.textContent).sort());

t.test('the console draws the zones and follows their changes', async (t) => {
  const { app } = await webTestApp(t);
  const admin = app.token('admin', 'a1');
  const put = (id: string, lat: number, lng: number, over: Parameters<typeof zoneSettingsFixture>[0]) =>
    http(app.baseUrl, 'PUT', `/v1/zones/${id}`, admin, { geometry: polygonZone(lat, lng, 0.01), settings: zoneSettingsFixture(over) });
  t.equal((await put('mitte', PICKUP.lat, PICKUP.lng, { name: 'Mitte' })).status, 201);
  t.equal((await put('nord', PICKUP.lat + 0.025, PICKUP.lng, { name: 'Nord', fleet: 'carrier', carrier: 'simcarrier' })).status, 201);

  const browser = await launchChromium(t);
  const page = await openPage(t, browser, app.baseUrl);
  await page.goto(`${app.baseUrl}/console?token=${app.token('dispatcher', 'd1')}`);

  // no couriers or orders: the map fits the zones
  await until(async () => (await drawnZones(page)).length === 2, 30_000, 'two zones drawn');
  t.same(await drawnZones(page), [
    { id: 'mitte', name: 'Mitte', fleet: 'own', servedBy: 'own' },
    { id: 'nord', name: 'Nord', fleet: 'carrier', servedBy: 'carrier simcarrier' },
  ]);
  await until(async () => (await zoneLabels(page)).length === 2, 10_000, 'zone labels');
  t.same(await zoneLabels(page), ['Mitte · own', 'Nord · carrier simcarrier'], 'labels: name · who serves it');
  await screenshot(page, 'console-zones');

  // a third zone (both fleets), and Nord now served by both: redrawn from the next frames, no reload
  t.equal((await put('sued', PICKUP.lat - 0.025, PICKUP.lng, { name: 'Süd', fleet: 'both', carrier: 'simcarrier' })).status, 201);
  t.equal((await put('nord', PICKUP.lat + 0.025, PICKUP.lng, { name: 'Nord', fleet: 'both', carrier: 'simcarrier' })).status, 200);
  await page.evaluate(() => (window as any).dispatchdConsole.map.jumpTo({ center: [13.4132, 52.5219], zoom: 12 }));
  await until(async () => (await zoneLabels(page)).length === 3, 30_000, 'the new zone is drawn');
  t.same(await zoneLabels(page), ['Mitte · own', 'Nord · own + simcarrier', 'Süd · own + simcarrier']);
  await until(async () => (await drawnZones(page)).length === 3, 10_000, 'three polygons');

  t.equal((await http(app.baseUrl, 'DELETE', '/v1/zones/mitte', admin)).status, 204);
  await until(async () => (await drawnZones(page)).every((z) => z.id !== 'mitte') && (await zoneLabels(page)).length === 2, 30_000, 'the deleted zone is gone');
  t.same(
    (await drawnZones(page)).map((z) => z.id),
    ['nord', 'sued'],
  );
});
