/**
 * `npm run mdrp:frontier -- [--dir DIR (default $MDRP_DATA or data/mdrp)] [--out DIR] [--instances a,b,…] [--weights 0,0.2,…] [--svg docs/frontier.svg]
 *    [--carrier-price DOLLARS [--carrier-late-risk-min MIN] [--carrier-pickup-min MIN] [--carrier-speed FACTOR]]`
 *
 * Sweeps the optimizer's time-vs-cost knob (`timeWeight`) on a few instances and plots mean click-to-door
 * against pay per order, with the default policy's point marked: the time-vs-cost frontier.
 * With `--carrier-price`, every setting runs a second time in hybrid mode (sim/mdrp/carrier.ts): orders
 * still unassigned `--carrier-late-risk-min` minutes after placement (default 20), and those no own
 * courier can serve, go to a simulated carrier at that price per order; the SVG then shows both curves
 * (own only: pay per order vs click-to-door of own deliveries; hybrid: (pay + carrier cost) per order vs
 * click-to-door of all deliveries) and frontier.csv both sets of numbers.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { defaultPolicy, parseOverrides, withOverrides } from '../dispatch/policy.js';
import { defaultMdrpDir, requireInstancesRoot } from '../sim/mdrp/data-dir.js';
import { splitSettings } from '../sim/mdrp/run.js';
import { mean, type MdrpMetrics } from '../sim/mdrp/metrics.js';
import { frontierSvg, type FrontierPoint } from '../sim/mdrp/frontier-svg.js';
import { runPool, type PoolJob } from './mdrp-pool.js';
import { revision } from './mdrp-run-info.js';

const DEFAULT_INSTANCES = ['0o50t100s1p100', '1o50t100s1p100', '2o50t100s1p100', '3o50t100s1p100'];
const DEFAULT_WEIGHTS = [0, 0.2, 0.4, 0.6, 0.8, 0.9, 1];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      dir: { type: 'string' },
      out: { type: 'string', default: 'tmp/mdrp-frontier' },
      instances: { type: 'string', default: DEFAULT_INSTANCES.join(',') },
      weights: { type: 'string', default: DEFAULT_WEIGHTS.join(',') },
      set: { type: 'string', multiple: true, default: [] },
      svg: { type: 'string', default: 'docs/frontier.svg' },
      'carrier-price': { type: 'string' },
      'carrier-late-risk-min': { type: 'string', default: '20' },
      'carrier-pickup-min': { type: 'string', default: '8' },
      'carrier-speed': { type: 'string', default: '1' },
    },
  });
  const carrier =
    values['carrier-price'] === undefined
      ? null
      : {
          carrier: 'true',
          carrierPrice: values['carrier-price'],
          carrierLateRiskMin: values['carrier-late-risk-min']!,
          carrierPickupMin: values['carrier-pickup-min']!,
          carrierSpeedFactor: values['carrier-speed']!,
        };
  if (carrier) splitSettings(carrier); // a bad number fails here, before any worker starts
  const dir = resolve(values.dir ?? defaultMdrpDir());
  const out = resolve(values.out!);
  const instances = values.instances!.split(',').map((s) => s.trim()).filter(Boolean);
  requireInstancesRoot(dir, instances);
  const weights = [...new Set([...values.weights!.split(',').map(Number), defaultPolicy.timeWeight])].sort((a, b) => a - b);
  if (weights.some((w) => !(w >= 0 && w <= 1))) throw new Error(`--weights must be numbers in [0, 1], got ${values.weights}`);
  const extra = parseOverrides(values.set ?? []);
  withOverrides(defaultPolicy, splitSettings(extra).policy); // fail on a bad --set before starting workers

  const jobs: PoolJob[] = weights.flatMap((w) =>
    instances.flatMap((name) => [
      { name: `${name}@${w}`, instanceDir: join(dir, name), outDir: join(out, `tw${w}`, name), overrides: { ...extra, timeWeight: String(w) } },
      ...(carrier
        ? [{ name: `${name}@${w}+carrier`, instanceDir: join(dir, name), outDir: join(out, `tw${w}-carrier`, name), overrides: { ...extra, ...carrier, timeWeight: String(w) } }]
        : []),
    ]),
  );
  const byWeight = new Map<number, MdrpMetrics[]>();
  const hybridByWeight = new Map<number, MdrpMetrics[]>();
  const bar = new cliProgress.SingleBar({ format: 'frontier {bar} {value}/{total} runs | {last}' }, cliProgress.Presets.shades_classic);
  bar.start(jobs.length, 0, { last: '' });
  const { failures } = await runPool(jobs, {
    onDone: (job, reply) => {
      const w = Number(job.overrides.timeWeight);
      const into = job.overrides.carrier === 'true' ? hybridByWeight : byWeight;
      if (reply.ok) into.set(w, [...(into.get(w) ?? []), reply.metrics]);
      bar.increment({ last: job.name });
    },
  });
  bar.stop();
  for (const f of failures) console.log(`FAILED ${f.instance} [${f.code}]: ${f.message.split('\n')[0]}`);
  if (failures.length > 0) throw new Error(`${failures.length} runs failed`);

  const points: FrontierPoint[] = weights.map((w) => {
    const ms = byWeight.get(w) ?? [];
    return {
      timeWeight: w,
      ctdMean: mean(ms.map((m) => m.ctd_mean)),
      payPerOrder: mean(ms.map((m) => m.pay_per_order)),
      isDefault: w === defaultPolicy.timeWeight,
    };
  });
  const hybrid = carrier
    ? weights.map((w) => {
        const ms = hybridByWeight.get(w) ?? [];
        return {
          timeWeight: w,
          ctdMean: mean(ms.map((m) => m.hybrid_ctd_mean ?? Number.NaN)),
          payPerOrder: mean(ms.map((m) => m.hybrid_cost_per_order ?? Number.NaN)),
          carrierPct: mean(ms.map((m) => m.carrier_pct ?? Number.NaN)),
          undeliveredPct: mean(ms.map((m) => m.hybrid_undelivered_pct ?? Number.NaN)),
          ownUndeliveredPct: mean((byWeight.get(w) ?? []).map((m) => m.undelivered_pct)),
          isDefault: w === defaultPolicy.timeWeight,
        };
      })
    : null;
  mkdirSync(out, { recursive: true });
  const csv = hybrid
    ? [
        'time_weight,ctd_mean,pay_per_order,own_undelivered_pct,hybrid_ctd_mean,hybrid_cost_per_order,carrier_pct,hybrid_undelivered_pct',
        ...points.map((p, i) => {
          const h = hybrid[i]!;
          return `${p.timeWeight},${p.ctdMean.toFixed(3)},${p.payPerOrder.toFixed(3)},${h.ownUndeliveredPct.toFixed(2)},${h.ctdMean.toFixed(3)},${h.payPerOrder.toFixed(3)},${h.carrierPct.toFixed(2)},${h.undeliveredPct.toFixed(2)}`;
        }),
      ]
    : ['time_weight,ctd_mean,pay_per_order', ...points.map((p) => `${p.timeWeight},${p.ctdMean.toFixed(3)},${p.payPerOrder.toFixed(3)}`)];
  writeFileSync(join(out, 'frontier.csv'), csv.join('\n') + '\n');
  const carrierLabel = carrier ? `hybrid: carrier $${carrier.carrierPrice}/order after ${carrier.carrierLateRiskMin} min unassigned` : '';
  writeFileSync(
    resolve(values.svg!),
    frontierSvg(
      points,
      hybrid ? 'Time-vs-cost frontier with and without a carrier (knob timeWeight)' : 'Time-vs-cost frontier: the optimizer knob timeWeight (0 = cheapest, 1 = fastest)',
      `means over ${instances.join(', ')}; optimizer ${revision()}`,
      hybrid ? { points: hybrid, label: carrierLabel } : undefined,
    ),
  );
  for (const p of points) console.log(`timeWeight ${p.timeWeight}: ctd ${p.ctdMean.toFixed(2)} min, $${p.payPerOrder.toFixed(2)}/order${p.isDefault ? ' (default)' : ''}`);
  for (const h of hybrid ?? []) {
    console.log(
      `timeWeight ${h.timeWeight} + carrier: ctd ${h.ctdMean.toFixed(2)} min, $${h.payPerOrder.toFixed(2)}/order, ${h.carrierPct.toFixed(1)}% to the carrier, undelivered ${h.undeliveredPct.toFixed(1)}% (own only: ${h.ownUndeliveredPct.toFixed(1)}%)`,
    );
  }
  console.log(`wrote ${values.svg} and ${join(out, 'frontier.csv')}`);
}

main().catch((err: Error & { code?: string }) => {
  console.log(`mdrp:frontier failed${err.code ? ` [${err.code}]` : ''}: ${err.message}`);
  process.exitCode = 1;
});
