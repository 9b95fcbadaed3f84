/**
 * Console benchmark (not a test): what one live state costs the dispatcher console in headless Chromium
 * at city scale.
 *
 *   npm run bench:console -- [--couriers 5000] [--orders 2000] [--frames 30] [--interval-ms 1000]
 *                            [--moving 0.2] [--mode delta|full] [--json out/console.json]
 *
 * The real app serves the page (built web/), but the page's /v1/console socket is answered by the
 * benchmark itself (playwright's routeWebSocket), which pushes synthetic frames of the given size
 * — couriers spread over a city of which `--moving` report a new point every frame, orders in every
 * status of which 1 % change, H3 cells — through the page's real socket handler, as the service sends
 * them: one full state, then deltas (`--mode delta`, what the console asks for) or full states every time.
 * Measured in the page, per frame:
 * - `apply`: merging the frame and the console's render of the state (lists, alerts, map sources,
 *   labels, detail), from window.dispatchdConsole.applyMs;
 * - `parse`: JSON.parse of the frame text (the socket handler's other cost);
 * - long tasks (> 50 ms) of the main thread during the run, which include MapLibre drawing with
 *   SwiftShader's software WebGL (no GPU here).
 * Two views: the whole city (labels too dense: only stores are labelled) and one district (labels on).
 * The target (issue 10): apply ≤ 50 ms p95 at 5,000 couriers and 2,000 orders.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { latLngToCell, cellToBoundary } from 'h3-js';
import { chromium } from 'playwright-core';
import { ensureWebBuilt } from '../scripts/build-web.mjs';
import { CHROMIUM_PATH } from '../test/e2e/browser.js';
import { buildTestApp, createTestContext } from '../test/support/index.js';
import { stateDelta } from '../src/runtime/console-delta.js';
import type { ConsoleState } from '../src/runtime/console-state.js';

const { values: args } = parseArgs({
  options: {
    couriers: { type: 'string', default: '5000' },
    orders: { type: 'string', default: '2000' },
    frames: { type: 'string', default: '30' },
    'interval-ms': { type: 'string', default: '1000' },
    moving: { type: 'string', default: '0.2' },
    mode: { type: 'string', default: 'delta' },
    json: { type: 'string' },
  },
});
const moving = Number(args.moving);
const mode = args.mode === 'full' ? 'full' : 'delta';
const nCouriers = Number(args.couriers);
const nOrders = Number(args.orders);
const frames = Number(args.frames);
const intervalMs = Number(args['interval-ms']);

// --- synthetic city (deterministic): Berlin, ±0.12° lat, ±0.2° lng
let seed = 42;
const rand = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
const CENTER = { lat: 52.52, lng: 13.405 };
const spot = () => ({ lat: CENTER.lat + (rand() - 0.5) * 0.24, lng: CENTER.lng + (rand() - 0.5) * 0.4 });
const STATUSES = ['placed', 'ready', 'offered', 'assigned', 'at_pickup', 'picked_up', 'at_dropoff'];
const COURIER_STATUSES = ['free', 'busy', 'busy', 'busy', 'paused', 'offline'];
const stores = Array.from({ length: 150 }, (_, i) => ({ id: `store-${i}`, ...spot() }));
const couriers = Array.from({ length: nCouriers }, (_, i) => ({ courierId: `c${i}`, ...spot(), status: COURIER_STATUSES[i % COURIER_STATUSES.length]!, load: i % 3, lastSeenAt: 0 }));
const t0 = Date.parse('2026-12-06T12:00:00Z');
const orders = Array.from({ length: nOrders }, (_, i) => {
  const store = stores[i % stores.length]!;
  const status = STATUSES[i % STATUSES.length]!;
  const waiting = ['placed', 'ready', 'offered'].includes(status);
  const placedAt = t0 - Math.floor(rand() * 3_000_000);
  return {
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    externalId: `ext-${i}`,
    storeId: store.id,
    status,
    placedAt,
    promisedBy: placedAt + 1_800_000,
    courierId: waiting ? null : `c${(i * 7) % nCouriers}`,
    pickup: { lat: store.lat, lng: store.lng },
    dropoff: spot(),
    pinned: i % 50 === 0,
    priority: i % 11 === 0 ? 5 : 0,
    etaDropoffAt: waiting ? null : placedAt + 1_200_000 + Math.floor(rand() * 1_200_000),
    ...(waiting ? { dispatch: { decision: 'waiting', reason: 'couriers_taken', at: t0, nearest: { courierId: 'c12', etaPickupAt: t0 + 300_000, freesAt: t0 + 180_000 } } } : {}),
  };
});
const cellCounts = new Map<string, { openOrders: number; freeCouriers: number }>();
for (const o of orders) {
  const cell = latLngToCell(o.pickup.lat, o.pickup.lng, 8);
  const c = cellCounts.get(cell) ?? { openOrders: 0, freeCouriers: 0 };
  c.openOrders++;
  cellCounts.set(cell, c);
}
const cells = [...cellCounts].map(([cell, c]) => ({ cell, ...c, boundary: cellToBoundary(cell, true) }));

let prevState: ConsoleState | null = null;
function frame(n: number): string {
  const at = t0 + n * 1000;
  for (const c of couriers) {
    if (prevState && rand() >= moving) continue;
    c.lat += (rand() - 0.5) * 0.0004;
    c.lng += (rand() - 0.5) * 0.0006;
    c.lastSeenAt = at - 500;
  }
  for (const o of orders) if (prevState && rand() < 0.01) o.priority = (o.priority + 1) % 11;
  const state = {
    type: 'state',
    at,
    couriers: couriers.map((c) => ({ ...c })),
    orders: orders.map((o) => ({ ...o, ageMs: at - o.placedAt })),
    cells,
    kpis: { windowMs: 10_800_000, delivered: 1234, onTimePct: 91.5, clickToDoorP50Min: 28, clickToDoorP90Min: 44, waiting: 800, oldestWaitingMin: 14, activeCouriers: 4100, costPerOrder: 7.25 },
    truncated: { couriers: nCouriers >= 5000, orders: false },
  } as unknown as ConsoleState;
  const text = mode === 'delta' && prevState ? JSON.stringify(stateDelta(prevState, state)) : JSON.stringify(state);
  prevState = state;
  return text;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! : NaN;
};
const r1 = (x: number) => Math.round(x * 10) / 10;

await ensureWebBuilt();
const ctx = await createTestContext(undefined, { WEBHOOK_SENDER: 'off', DISPATCH: 'off', LOG_LEVEL: 'warn' });
const app = await buildTestApp(ctx);
const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--enable-unsafe-swiftshader', '--use-angle=swiftshader'] });
const results: Record<string, unknown>[] = [];
try {
  const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
  let push: ((text: string) => void) | null = null;
  await page.routeWebSocket(/\/v1\/console/, (ws) => {
    push = (text) => ws.send(text);
  });
  await page.goto(`${app.baseUrl}/console?token=${app.token('dispatcher', 'bench')}`);
  await page.waitForFunction(() => !!(window as any).dispatchdConsole.labels);
  await page.evaluate(() => {
    (window as any).benchLongTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) (window as any).benchLongTasks.push(e.duration);
    }).observe({ type: 'longtask', buffered: false });
  });
  let n = 0;
  for (const view of ['city', 'district'] as const) {
    if (view === 'district') {
      await page.evaluate(([lng, lat]) => {
        const h = (window as any).dispatchdConsole;
        h.userMoved = true;
        h.map.jumpTo({ center: [lng, lat], zoom: 15 });
      }, [CENTER.lng, CENTER.lat]);
    }
    await page.evaluate(() => {
      const h = (window as any).dispatchdConsole;
      h.applyMs.length = 0;
      (window as any).benchLongTasks.length = 0;
    });
    const parseMs: number[] = [];
    const sizes: number[] = [];
    process.stderr.write(`${view}: ${frames} frames of ${nCouriers} couriers and ${nOrders} orders, one per ${intervalMs} ms…\n`);
    for (let i = 0; i < frames; i++) {
      const text = frame(n++);
      sizes.push(text.length);
      const before = await page.evaluate(() => (window as any).dispatchdConsole.applyMs.length);
      push!(text);
      await page.waitForFunction((k) => (window as any).dispatchdConsole.applyMs.length > k, before);
      parseMs.push(await page.evaluate((s) => {
        const a = performance.now();
        JSON.parse(s);
        return performance.now() - a;
      }, text));
      await new Promise((r) => setTimeout(r, intervalMs));
    }
    const { apply, longTasks, labels, phases } = await page.evaluate(() => ({
      phases: (window as any).dispatchdConsole.phaseMs as Record<string, number>,
      apply: [...(window as any).dispatchdConsole.applyMs] as number[],
      longTasks: [...(window as any).benchLongTasks] as number[],
      labels: document.querySelectorAll('#labels .map-label:not([hidden])').length,
    }));
    // the first frame of the run builds every row and source from nothing: reported, not in the percentiles
    const steady = apply.slice(1);
    const r = {
      view,
      mode,
      moving,
      couriers: nCouriers,
      orders: nOrders,
      frameKBFirst: Math.round(sizes[0]! / 1024),
      frameKBMedian: Math.round(pct(sizes, 50) / 1024),
      applyFirstMs: r1(apply[0] ?? NaN),
      applyP50Ms: r1(pct(steady, 50)),
      applyP95Ms: r1(pct(steady, 95)),
      applyMaxMs: r1(Math.max(...steady)),
      parseP50Ms: r1(pct(parseMs, 50)),
      parseP95Ms: r1(pct(parseMs, 95)),
      longTasksPerFrame: r1(longTasks.length / frames),
      longTaskMsPerSecond: r1(longTasks.reduce((a, b) => a + b, 0) / ((frames * intervalMs) / 1000)),
      labelsShown: labels,
      lastFramePhasesMs: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, r1(v)])),
    };
    results.push(r);
    process.stderr.write(`${JSON.stringify(r)}\n`);
  }
} finally {
  await browser.close();
  await app.close();
  await ctx.cleanup();
}
const out = { at: new Date().toISOString(), cpus: cpus().length, loadavg: loadavg().map(r1), results };
console.log(JSON.stringify(out, null, 2));
if (args.json) {
  await mkdir(dirname(args.json), { recursive: true });
  await writeFile(args.json, JSON.stringify(out, null, 2));
}
