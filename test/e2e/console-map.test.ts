/**
 * The console's basemap and labels in a real headless Chromium: streets drawn from a MAP_STYLE_URL
 * served on loopback (vector tiles the test cuts itself), streets drawn from a MAP_TILES_FILE PMTiles
 * archive the service serves with range requests (Protomaps theme), and labels and hover for couriers,
 * stores and drop-offs with no glyphs fetched from anywhere.
 */
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { http, orderBody, PICKUP, until, WsClient } from '../integration/orders-helpers.js';
import { launchChromium, openPage, screenshot, webTestApp, renderedFeatures } from './browser.js';
import { startStyleServer, streetGrid, writePmtiles } from './tiles.js';

async function courierOnline(wsUrl: string, token: string, lat: number, lng: number) {
  const ws = await WsClient.connect(`${wsUrl}/v1/courier`, token);
  ws.send({ type: 'loc', seq: 1, ts: Date.now() - 1000, lat, lng, acc: 5 });
  await ws.nextOf('ack', (f) => f.seq === 1);
  return ws;
}

/** Features MapLibre drew for the given layers, read back from the renderer. */
async function rendered(page: Page, layers: string[]): Promise<number> {
  return (await renderedFeatures(page, layers)).length;
}

/** Pixels of the map canvas close to `rgb` (the streets' colour), counted in the browser. */
function pixelsLike(page: Page, rgb: [number, number, number]): Promise<number> {
  return page.evaluate((c) => {
    const map = (window as any).dispatchdConsole.map;
    map.triggerRepaint();
    return new Promise<number>((resolve) => {
      map.once('render', () => {
        const gl = map.getCanvas().getContext('webgl2') ?? map.getCanvas().getContext('webgl');
        const w = gl.drawingBufferWidth;
        const h = gl.drawingBufferHeight;
        const px = new Uint8Array(w * h * 4);
        gl.readPixels(0, 0, w, h, gl.RGBA, gl.UNSIGNED_BYTE, px);
        let n = 0;
        for (let i = 0; i < px.length; i += 4) if (Math.abs(px[i] - c[0]) < 30 && Math.abs(px[i + 1] - c[1]) < 30 && Math.abs(px[i + 2] - c[2]) < 30) n++;
        resolve(n);
      });
    });
  }, rgb);
}

t.test('MAP_STYLE_URL: streets from a loopback style and tile server are drawn under the live layers', async (t) => {
  const tiles = await startStyleServer(streetGrid(PICKUP));
  t.teardown(() => tiles.server.close());
  const { app } = await webTestApp(t, { MAP_STYLE_URL: tiles.url });
  const config = await (await fetch(`${app.baseUrl}/console/config.json`)).json();
  t.match(config, { mapStyleUrl: tiles.url, tilesUrl: null, currency: 'USD' }, 'the page is told the style');
  await http(app.baseUrl, 'POST', '/v1/orders', app.token('store', 's1'), orderBody('map-1'));
  const ws = await courierOnline(app.wsUrl, app.token('courier', 'c1'), PICKUP.lat + 0.003, PICKUP.lng);
  t.teardown(() => ws.close());

  const browser = await launchChromium(t);
  // the loopback tile server is the one other origin the page may use
  const page = await openPage(t, browser, app.baseUrl, undefined, [tiles.url.replace('/style.json', '')]);
  await page.goto(`${app.baseUrl}/console?token=${app.token('dispatcher', 'd1')}`);
  await page.waitForSelector('#couriers tr[data-courier-id="c1"]');
  await until(async () => (await rendered(page, ['test-streets'])) > 0, 15_000, 'streets drawn');
  t.ok(tiles.tileRequests() > 0, `tiles fetched from the configured source (${tiles.tileRequests()})`);
  await until(async () => (await rendered(page, ['couriers'])) === 1, 10_000, 'the courier drawn over the streets');
  const red = await pixelsLike(page, [255, 0, 0]);
  t.ok(red > 500, `street pixels on the canvas (${red})`);
  await screenshot(page, 'console-map-1-style-url');
});

t.test('MAP_TILES_FILE: a PMTiles archive served by the service itself, read with range requests, drawn with the Protomaps theme', async (t) => {
  const file = join(mkdtempSync(join(tmpdir(), 'dispatchd-tiles-')), 'city.pmtiles');
  writePmtiles(file, streetGrid(PICKUP), PICKUP);
  const { app } = await webTestApp(t, { MAP_TILES_FILE: file });
  t.match(await (await fetch(`${app.baseUrl}/console/config.json`)).json(), { mapStyleUrl: null, tilesUrl: '/tiles/basemap.pmtiles' });
  const range = await fetch(`${app.baseUrl}/tiles/basemap.pmtiles`, { headers: { range: 'bytes=0-126' } });
  t.equal(range.status, 206, 'a range request gets 206 Partial Content');
  t.equal(Buffer.from(await range.arrayBuffer()).subarray(0, 7).toString(), 'PMTiles', 'the archive header');
  const none = await webTestApp(t);
  const missing = await fetch(`${none.app.baseUrl}/tiles/basemap.pmtiles`);
  t.match({ status: missing.status, body: await missing.json() }, { status: 404, body: { code: 'tiles_not_configured' } }, 'without MAP_TILES_FILE: a clear 404');

  const ws = await courierOnline(app.wsUrl, app.token('courier', 'c1'), PICKUP.lat, PICKUP.lng + 0.002);
  t.teardown(() => ws.close());
  await http(app.baseUrl, 'POST', '/v1/orders', app.token('store', 's1'), orderBody('map-2'));
  const browser = await launchChromium(t);
  const page = await openPage(t, browser, app.baseUrl);
  const ranges: string[] = [];
  page.on('request', (req) => {
    if (req.url().endsWith('/tiles/basemap.pmtiles')) ranges.push(req.headers().range ?? 'none');
  });
  await page.goto(`${app.baseUrl}/console?token=${app.token('dispatcher', 'd1')}`);
  await page.waitForSelector('#couriers tr[data-courier-id="c1"]');
  await until(async () => (await rendered(page, ['roads_major'])) > 0, 15_000, 'streets drawn from the archive');
  t.ok(ranges.length > 0 && ranges.every((r) => r.startsWith('bytes=')), `the browser read the archive by ranges (${ranges.join(', ')})`);
  await screenshot(page, 'console-map-2-pmtiles');
});

t.test('labels and hover for couriers, stores and drop-offs, drawn as HTML (no glyphs fetched)', async (t) => {
  const { app } = await webTestApp(t);
  await http(app.baseUrl, 'POST', '/v1/orders', app.token('store', 's1'), orderBody('label-1'));
  const ws = await courierOnline(app.wsUrl, app.token('courier', 'c7'), PICKUP.lat + 0.003, PICKUP.lng + 0.002);
  t.teardown(() => ws.close());
  const browser = await launchChromium(t);
  const page = await openPage(t, browser, app.baseUrl);
  await page.goto(`${app.baseUrl}/console?token=${app.token('dispatcher', 'd1')}`);
  await page.waitForSelector('.map-label.ml-courier:has-text("c7")', { timeout: 15_000 });
  t.equal(await page.textContent('.map-label.ml-store'), 's1', 'the store is labelled');
  t.equal(await page.textContent('.map-label.ml-dropoff'), 'label-1', 'the drop-off is labelled with the order');

  // hover the courier: a tip names it with its status (pointed at again until the map has settled on it)
  const courierOnScreen = () =>
    page.evaluate(() => {
      const { map, state } = (window as any).dispatchdConsole;
      const c = state.couriers[0];
      const p = map.project([c.lng, c.lat]);
      const r = map.getCanvas().getBoundingClientRect();
      return { x: r.left + p.x, y: r.top + p.y };
    });
  let at = await courierOnScreen();
  let wiggle = 0;
  await until(
    async () => {
      await page.waitForFunction(() => !(window as any).dispatchdConsole.map.isMoving());
      at = await courierOnScreen();
      await page.mouse.move(at.x + (wiggle++ % 2), at.y);
      return page.evaluate(() => !(document.querySelector('.map-tip') as HTMLElement).hidden);
    },
    10_000,
    'the hover tip',
  );
  t.match(await page.textContent('.map-tip'), /c7 · free/, 'hovering a courier names it and its status');
  await screenshot(page, 'console-map-3-labels');

  // the dispatcher drags the map away: the live frames do not pull it back; "Fit all" does
  const center = () => page.evaluate(() => (window as any).dispatchdConsole.map.getCenter().toArray() as [number, number]);
  const fitted = await center();
  await page.mouse.move(at.x - 150, at.y);
  await page.mouse.down();
  await page.mouse.move(at.x + 150, at.y + 100, { steps: 10 });
  await page.mouse.up();
  // the pan eases out after the release (inertia): read where it comes to rest
  await page.waitForFunction(() => !(window as any).dispatchdConsole.map.isMoving());
  t.equal(await page.evaluate(() => (window as any).dispatchdConsole.userMoved), true, 'the console knows the dispatcher moved the map');
  const moved = await center();
  t.ok(Math.abs(moved[0] - fitted[0]) > 1e-4, 'the drag moved the map');
  const frames = await page.evaluate(() => (window as any).dispatchdConsole.frames as number);
  await page.waitForFunction((n) => (window as any).dispatchdConsole.frames >= n + 2, frames);
  t.same(await center(), moved, 'new frames keep the dispatcher’s view');
  await page.click('#fit-all');
  const again = await center();
  t.ok(Math.abs(again[0] - fitted[0]) < 1e-6 && Math.abs(again[1] - fitted[1]) < 1e-6, 'Fit all fits the data again');
});
