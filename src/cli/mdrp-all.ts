/**
 * `npm run mdrp:all -- [--dir DIR] --out DIR [--set key=value …] [--ready-late | --ready-estimate MODE |
 *  --modes known,restaurant-mean,learned] [--only NAME,NAME|SUBSTR] [--seed0] [--workers N]`
 *
 * Runs every instance folder under --dir (biggest first), each into --out/<instance>/, and writes
 * --out/summary.csv and --out/summary.md: per-instance metrics, means over instances, the gaps to the
 * lower bounds and the issue's targets. --modes runs several information modes one after the other (each
 * into --out/<mode>/) and prints them side by side with the published figures (--out/modes.md). Whenever
 * seed-0 instances with a published exact optimum were run (--seed0 runs exactly those 16), their
 * comparison with it is printed and written (optimum.md). Exits non-zero if any instance failed
 * (invalid plan or infeasible solution).
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { defaultPolicy, parseOverrides, withOverrides } from '../dispatch/policy.js';
import { defaultMdrpDir, requireInstancesRoot, selectInstances } from '../sim/mdrp/data-dir.js';
import { splitSettings } from '../sim/mdrp/run.js';
import { summarize, summaryCsv, summaryMarkdown, type Summary } from '../sim/mdrp/summary.js';
import { INFO_MODES, MODE_LABEL, modesMarkdown, optimumComparison, optimumMarkdown, SEED0_INSTANCES, type InfoMode } from '../sim/mdrp/published.js';
import { isReadyEstimateMode } from '../sim/mdrp/ready-estimates.js';
import { runPool, type PoolJob } from './mdrp-pool.js';
import { runInfoLines } from './mdrp-run-info.js';

const USAGE =
  'usage: npm run mdrp:all -- [--dir DIR (default $MDRP_DATA or data/mdrp)] --out DIR [--set key=value …] ' +
  '[--ready-late | --ready-estimate global|restaurant-mean|learned | --modes known,restaurant-mean,learned] ' +
  '[--only NAME,NAME… or SUBSTR] [--seed0] [--workers N]';

function modeOverrides(mode: InfoMode): Record<string, string> {
  return mode === 'known' ? { readyKnown: 'true' } : { readyKnown: 'false', readyEstimate: mode };
}

async function runMode(
  label: string,
  instances: readonly string[],
  dir: string,
  out: string,
  overrides: Record<string, string>,
  workers: number | undefined,
): Promise<{ summary: Summary; ok: boolean }> {
  const orderCount = (name: string) => readFileSync(join(dir, name, 'orders.txt'), 'utf8').split('\n').length;
  const jobs: PoolJob[] = instances
    .map((name) => ({ name, size: orderCount(name) }))
    .sort((a, b) => b.size - a.size || a.name.localeCompare(b.name))
    .map(({ name }) => ({ name, instanceDir: join(dir, name), outDir: join(out, name), overrides }));

  mkdirSync(out, { recursive: true });
  const bar = new cliProgress.SingleBar(
    { format: 'mdrp {bar} {value}/{total} instances | {eta_formatted} left | {last}', hideCursor: true, noTTYOutput: true, notTTYSchedule: 10_000 },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  const startLoad = loadavg();
  bar.start(jobs.length, 0, { last: '' });
  const { metrics, failures } = await runPool(jobs, {
    ...(workers ? { workers } : {}),
    onDone: (job, reply) => bar.increment({ last: `${job.name} ${reply.ok ? 'ok' : `FAILED ${reply.code}`}` }),
  });
  bar.stop();

  const summary = summarize(metrics, failures);
  const sets = Object.entries(overrides).map(([k, v]) => `${k}=${v}`).join(' ') || 'defaults';
  writeFileSync(join(out, 'summary.csv'), summaryCsv(summary));
  writeFileSync(join(out, 'summary.md'), summaryMarkdown(summary, `MDRP summary: ${instances.length} instances, ${label} (${sets})`, runInfoLines(startLoad)));
  console.log(`${metrics.length} instances solved, ${failures.length} failed in ${((Date.now() - started) / 1000).toFixed(0)} s (${label})`);
  for (const t of summary.targets) console.log(`${t.met ? 'ok  ' : 'MISS'} ${t.name}: ${t.value.toFixed(3)} (limit ${t.target})`);
  console.log(`r2p_mean ${summary.means.r2p_mean.toFixed(3)}, worst solve_cpu_ms_p99 ${Math.max(...summary.rows.map((r) => r.solve_cpu_ms_p99)).toFixed(2)} ms`);
  for (const f of failures) console.log(`FAILED ${f.instance} [${f.code}]: ${f.message.split('\n')[0]}`);
  console.log(`summary: ${join(out, 'summary.md')}, ${join(out, 'summary.csv')}`);
  const optimum = optimumComparison(summary.rows);
  if (optimum) {
    const md = optimumMarkdown(optimum);
    writeFileSync(join(out, 'optimum.md'), `# Seed-0 instances against the exact offline optimum (${label})\n\n${md}`);
    console.log(`\nSeed-0 instances against the exact offline optimum (${label}):\n${md}`);
  }
  return { summary, ok: failures.length === 0 };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      dir: { type: 'string' },
      out: { type: 'string' },
      set: { type: 'string', multiple: true, default: [] },
      'ready-late': { type: 'boolean', default: false },
      'ready-estimate': { type: 'string' },
      modes: { type: 'string' },
      only: { type: 'string' },
      seed0: { type: 'boolean', default: false },
      workers: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return void console.log(USAGE);
  if (!values.out) throw new Error(`--out is required\n${USAGE}`);
  const overrides = parseOverrides(values.set ?? []);
  if (values['ready-late']) overrides.readyKnown = 'false';
  const estimate = values['ready-estimate'];
  if (estimate !== undefined) {
    if (!isReadyEstimateMode(estimate)) throw new Error(`--ready-estimate must be global, restaurant-mean or learned, got "${estimate}"`);
    Object.assign(overrides, { readyKnown: 'false', readyEstimate: estimate });
  }
  const modes = values.modes?.split(',').map((m) => m.trim()).filter(Boolean) ?? [];
  for (const m of modes) if (!(INFO_MODES as readonly string[]).includes(m)) throw new Error(`--modes: unknown mode "${m}" (known: ${INFO_MODES.join(', ')})`);
  withOverrides(defaultPolicy, splitSettings(overrides).policy); // fail on a bad --set before starting workers
  for (const m of modes) splitSettings({ ...overrides, ...modeOverrides(m as InfoMode) });

  const dir = resolve(values.dir ?? defaultMdrpDir());
  const out = resolve(values.out);
  const present = requireInstancesRoot(dir, values.seed0 ? SEED0_INSTANCES : undefined);
  const selected = selectInstances(values.seed0 ? SEED0_INSTANCES.slice().sort() : present, values.only);
  if (selected.length === 0) throw new Error(`no instance folder under ${dir} matches --only ${values.only}`);
  const workers = values.workers ? Number(values.workers) : undefined;

  if (modes.length === 0) {
    const label = overrides.readyKnown === 'false' ? `ready times hidden until ready, estimate ${overrides.readyEstimate ?? 'global'}` : 'ready times known';
    const { ok } = await runMode(label, selected, dir, out, overrides, workers);
    if (!ok) process.exitCode = 1;
    return;
  }
  const summaries = new Map<InfoMode, Summary>();
  const startLoad = loadavg();
  let ok = true;
  for (const m of modes as InfoMode[]) {
    console.log(`\n== ${m}: ${MODE_LABEL[m]}`);
    const r = await runMode(MODE_LABEL[m], selected, dir, join(out, m), { ...overrides, ...modeOverrides(m) }, workers);
    summaries.set(m, r.summary);
    ok &&= r.ok;
  }
  const table = modesMarkdown(summaries);
  writeFileSync(join(out, 'modes.md'), `# MDRP information modes side by side (${selected.length} instances)\n\n${runInfoLines(startLoad).join('\n')}\n\n${table}`);
  console.log(`\nInformation modes side by side (${selected.length} instances):\n${table}`);
  console.log(`modes: ${join(out, 'modes.md')}`);
  if (!ok) process.exitCode = 1;
}

main().catch((err: Error & { code?: string }) => {
  console.log(`mdrp:all failed${err.code ? ` [${err.code}]` : ''}: ${err.message}`);
  process.exitCode = 1;
});
