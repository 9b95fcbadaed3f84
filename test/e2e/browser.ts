/**
 * Browser test support: Debian's Chromium (never a downloaded browser) driven by playwright-core, the
 * real app on a loopback port with the web pages built (on demand), and screenshots kept in
 * test-artifacts/. A missing Chromium fails the test with how to install it: never a skip.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ensureWebBuilt } from '../../scripts/build-web.mjs';
import { buildTestApp, createTestContext, type Teardownable, type TestApp, type TestContext } from '../support/index.js';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const ARTIFACTS = join(process.cwd(), 'test-artifacts');

export async function launchChromium(t: Teardownable): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Browser tests need Chromium at ${CHROMIUM_PATH}: install it with \`apt-get install chromium\` (or set CHROMIUM_PATH). It is never downloaded.`);
  }
  // SwiftShader gives headless Chromium a software WebGL, which MapLibre needs
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--enable-unsafe-swiftshader', '--use-angle=swiftshader'] });
  t.teardown(() => browser.close());
  return browser;
}

/** A page that fails the test on any uncaught page error and any request leaving the loopback host. */
export async function openPage(
  t: Teardownable & { fail(msg: string): void },
  browser: Browser,
  baseUrl: string,
  viewport = { width: 1400, height: 900 },
  /** Other loopback origins the test itself serves (e.g. a tile server). */
  alsoAllowed: string[] = [],
): Promise<Page> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on('pageerror', (err) => t.fail(`page error: ${err.message}`));
  page.on('request', (req) => {
    const url = req.url();
    const allowed = [baseUrl, baseUrl.replace('http', 'ws'), 'blob:', 'data:', ...alsoAllowed];
    if (!allowed.some((prefix) => url.startsWith(prefix))) {
      t.fail(`the page requested an external URL: ${url}`);
    }
  });
  return page;
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** A test context and app with the web pages built. */
export async function webTestApp(t: Teardownable, env: Record<string, string> = {}): Promise<{ ctx: TestContext; app: TestApp }> {
  await ensureWebBuilt();
  // the dispatch loop is off: these tests drive every assignment themselves (offers, overrides)
  const ctx = await createTestContext(t, { WEBHOOK_SENDER: 'off', DISPATCH: 'off', ...env });
  return { ctx, app: await buildTestApp(ctx) };
}

/** One feature MapLibre drew: its properties and, for a point, its [lng, lat]. */
export interface DrawnFeature {
  readonly properties: Record<string, any>;
  readonly point: [number, number] | null;
}

/**
 * What a page's map drew for `layers`, read back from the renderer (not from our own data); `handle` is
 * the page's window handle (the console's, or `dispatchdTrack` on the tracking page). A page still loading
 * — no handle, no map or none of the layers yet — has drawn nothing: polling callers simply poll again.
 */
export function renderedFeatures(page: Page, layers: readonly string[], handle = 'dispatchdConsole'): Promise<DrawnFeature[]> {
  return page.evaluate(([ls, h]) => {
    const map = (window as any)[h]?.map;
    const present = map ? ls.filter((l: string) => map.getLayer(l)) : [];
    if (present.length === 0) return [];
    return map.queryRenderedFeatures({ layers: present }).map((f: any) => ({
      properties: { ...f.properties },
      point: f.geometry?.type === 'Point' ? [f.geometry.coordinates[0], f.geometry.coordinates[1]] : null,
    }));
  }, [[...layers], handle] as const);
}
