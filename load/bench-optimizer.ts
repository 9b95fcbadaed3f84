/**
 * Optimizer benchmark (not a test): one synthetic city round through planRound.
 *
 *   npm run bench:optimizer -- --orders 5000 --couriers 5000 --json out/optimizer.json [--runs 5] [--seed 1]
 *                              [--model haversine|planar] [--set key=value ...]
 *
 * The city: a 25 km square around a centre (lat/lng with the haversine model at 5 m/s, or planar metres at
 * 320 m/min), one restaurant per five orders with a denser core, orders placed in the last 15 minutes and
 * ready from now to 30 minutes on, couriers spread like the customers, 30 % of them busy for up to
 * 20 minutes. The round's budget (policy.maxMs) is raised to 5 s so the figure is the full round, not the
 * budget. Reports the median round time over the runs (after one warm-up) — wall and CPU, since the
 * machine may be shared — the load average, and memory.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { roundDecisions } from '../src/dispatch/decisions.js';
import { planRound } from '../src/dispatch/plan-round.js';
import { defaultPolicy, parseOverrides, withOverrides } from '../src/dispatch/policy.js';
import { haversineTravelModel, planarTravelModel, type LatLng } from '../src/dispatch/travel.js';
import type { CourierState, OrderRequest, PlanarPoint, Snapshot, TravelModel } from '../src/dispatch/types.js';
import { seededRandom } from '../src/domain/random.js';

const { values: args } = parseArgs({
  options: {
    orders: { type: 'string', default: '5000' },
    couriers: { type: 'string', default: '5000' },
    runs: { type: 'string', default: '5' },
    seed: { type: 'string', default: '1' },
    model: { type: 'string', default: 'haversine' },
    json: { type: 'string' },
    set: { type: 'string', multiple: true, default: [] },
  },
  strict: true,
});

const nOrders = Number(args.orders);
const nCouriers = Number(args.couriers);
const runs = Number(args.runs);
const seed = Number(args.seed);
if (![nOrders, nCouriers, runs].every((n) => Number.isInteger(n) && n > 0) || !['haversine', 'planar'].includes(args.model!)) {
  console.error('usage: npm run bench:optimizer -- --orders N --couriers M [--runs R] [--seed S] [--model haversine|planar] [--json FILE] [--set key=value ...]');
  process.exit(2);
}
const policy = withOverrides(defaultPolicy, { maxMs: 5000, ...parseOverrides(args.set ?? []) });


/** A synthetic city round with places of type P, built from planar metres by `place`. */
function city<P>(travel: TravelModel<P>, place: (m: PlanarPoint) => P): Snapshot<P> {
  const rand = seededRandom(seed);
  const side = 25_000;
  // Half the points in a 6 km core, the rest anywhere: real cities are denser in the middle.
  const point = (): PlanarPoint =>
    rand() < 0.5
      ? { x: side / 2 + (rand() - 0.5) * 6000, y: side / 2 + (rand() - 0.5) * 6000 }
      : { x: rand() * side, y: rand() * side };
  const now = 12 * 3600;
  const restaurants = Array.from({ length: Math.max(1, Math.round(nOrders / 5)) }, () => place(point()));
  const orders: OrderRequest<P>[] = Array.from({ length: nOrders }, (_, i) => {
    const k = Math.floor(rand() * restaurants.length);
    const placedAt = now - Math.round(rand() * 900);
    return {
      id: `o${i}`,
      pickupId: `r${k}`,
      pickup: restaurants[k],
      dropoff: place(point()),
      placedAt,
      readyAt: now + Math.round(rand() * 1800),
      readyKnown: true,
      option: 'standard',
      promisedBy: placedAt + 2400,
      size: 1,
      declinedBy: rand() < 0.02 ? [`c${Math.floor(rand() * nCouriers)}`] : [],
    };
  });
  const couriers: CourierState<P>[] = Array.from({ length: nCouriers }, (_, i) => {
    const busy = rand() < 0.3;
    return {
      id: `c${i}`,
      position: place(point()),
      freeAt: busy ? now + Math.round(rand() * 1200) : now - 60,
      shiftStart: now - 3600,
      shiftEnd: now + Math.round(1800 + rand() * 4 * 3600),
      capacity: 4,
      status: busy ? 'busy' : 'free',
      ordersThisShift: Math.floor(rand() * 5),
    };
  });
  return { now, orders, couriers, travel, service: { pickupS: 240, dropoffS: 240 }, pay: { perOrder: 10, guaranteedPerHour: 15 }, seed };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function runAll<P>(snapshot: Snapshot<P>) {
  const times: number[] = [];
  const cpuTimes: number[] = [];
  const decisionTimes: number[] = [];
  let last = planRound(snapshot, policy);
  process.stderr.write(`warm-up: ${last.summary.solveMs.toFixed(0)} ms\n`);
  for (let r = 1; r <= runs; r++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    last = planRound(snapshot, policy);
    times.push(performance.now() - t0);
    const cpu = process.cpuUsage(c0);
    cpuTimes.push((cpu.user + cpu.system) / 1000);
    // the decision records the live dispatcher maps each plan to (after the commits, off the solve)
    const d0 = performance.now();
    roundDecisions(snapshot, last, { zone: 'bench', at: 0 });
    decisionTimes.push(performance.now() - d0);
    process.stderr.write(`run ${r}/${runs}: ${times[times.length - 1].toFixed(0)} ms, decisions ${decisionTimes[decisionTimes.length - 1].toFixed(0)} ms\n`);
  }
  return { times, cpuTimes, decisionTimes, plan: last };
}

process.stderr.write(`optimizer bench: ${nOrders} orders, ${nCouriers} couriers, ${args.model} model, ${runs} runs\n`);
const centre = { lat: 41.88, lng: -87.63 };
const mPerDegLat = 111_320;
const mPerDegLng = 111_320 * Math.cos((centre.lat * Math.PI) / 180);
const { times, cpuTimes, decisionTimes, plan } =
  args.model === 'planar'
    ? runAll(city(planarTravelModel(320), (p) => p))
    : runAll(
        city<LatLng>(haversineTravelModel(5, { refLat: centre.lat }), (p) => ({
          lat: centre.lat + (p.y - 12_500) / mPerDegLat,
          lng: centre.lng + (p.x - 12_500) / mPerDegLng,
        })),
      );
const mem = process.memoryUsage();
const result = {
  benchmark: 'optimizer',
  date: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  model: args.model,
  orders: nOrders,
  couriers: nCouriers,
  runs,
  seed,
  round_ms_median: Math.round(median(times) * 10) / 10,
  round_ms_min: Math.round(Math.min(...times) * 10) / 10,
  round_ms_max: Math.round(Math.max(...times) * 10) / 10,
  // CPU time of the process during the round (includes GC threads): robust to other load on the machine.
  round_cpu_ms_median: Math.round(median(cpuTimes) * 10) / 10,
  decisions_ms_median: Math.round(median(decisionTimes) * 10) / 10,
  load_average_1m: Math.round(loadavg()[0] * 100) / 100,
  assigned: plan.summary.assigned,
  unassigned: plan.unassigned.length,
  bundles: plan.summary.bundles,
  rss_mb: Math.round(mem.rss / 1e5) / 10,
  // maxRSS is in KiB.
  max_rss_mb: Math.round((process.resourceUsage().maxRSS * 1024) / 1e5) / 10,
  heap_used_mb: Math.round(mem.heapUsed / 1e5) / 10,
  policy,
};
console.log(JSON.stringify(result, null, 2));
if (args.json) {
  await mkdir(dirname(args.json), { recursive: true });
  await writeFile(args.json, JSON.stringify(result, null, 2) + '\n');
}
