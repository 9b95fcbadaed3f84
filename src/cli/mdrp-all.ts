/**
 * `npm run mdrp:all -- [--dir DIR] --out DIR [--set key=value …] [--ready-late] [--only SUBSTR] [--workers N]`
 *
 * Runs every instance folder under --dir (all cores, biggest first), each into --out/<instance>/, and
 * writes --out/summary.csv and --out/summary.md: per-instance metrics, means over instances, the gaps to
 * the lower bounds and the issue's targets. Exits non-zero if any instance failed (invalid plan or
 * infeasible solution).
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { defaultPolicy, parseOverrides, withOverrides } from '../dispatch/policy.js';
import { defaultMdrpDir, requireInstancesRoot } from '../sim/mdrp/data-dir.js';
import { splitSettings } from '../sim/mdrp/run.js';
import { summarize, summaryCsv, summaryMarkdown } from '../sim/mdrp/summary.js';
import { runPool, type PoolJob } from './mdrp-pool.js';
import { runInfoLines } from './mdrp-run-info.js';

const USAGE = 'usage: npm run mdrp:all -- [--dir DIR (default $MDRP_DATA or data/mdrp)] --out DIR [--set key=value …] [--ready-late] [--only SUBSTR] [--workers N]';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      dir: { type: 'string' },
      out: { type: 'string' },
      set: { type: 'string', multiple: true, default: [] },
      'ready-late': { type: 'boolean', default: false },
      only: { type: 'string' },
      workers: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return void console.log(USAGE);
  if (!values.out) throw new Error(`--out is required\n${USAGE}`);
  const overrides = parseOverrides(values.set ?? []);
  if (values['ready-late']) overrides.readyKnown = 'false';
  withOverrides(defaultPolicy, splitSettings(overrides).policy); // fail on a bad --set before starting workers

  const dir = resolve(values.dir ?? defaultMdrpDir());
  const out = resolve(values.out);
  const instances = requireInstancesRoot(dir).filter((name) => !values.only || name.includes(values.only));
  if (instances.length === 0) throw new Error(`no instance folder under ${dir} matches --only ${values.only}`);
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
    ...(values.workers ? { workers: Number(values.workers) } : {}),
    onDone: (job, reply) => bar.increment({ last: `${job.name} ${reply.ok ? 'ok' : `FAILED ${reply.code}`}` }),
  });
  bar.stop();

  const summary = summarize(metrics, failures);
  const mode = overrides.readyKnown === 'false' ? 'ready times revealed late' : 'ready times known';
  const sets = Object.entries(overrides).map(([k, v]) => `${k}=${v}`).join(' ') || 'defaults';
  writeFileSync(join(out, 'summary.csv'), summaryCsv(summary));
  writeFileSync(join(out, 'summary.md'), summaryMarkdown(summary, `MDRP summary: ${instances.length} instances, ${mode} (${sets})`, runInfoLines(startLoad)));
  console.log(`${metrics.length} instances solved, ${failures.length} failed in ${((Date.now() - started) / 1000).toFixed(0)} s (${mode})`);
  for (const t of summary.targets) console.log(`${t.met ? 'ok  ' : 'MISS'} ${t.name}: ${t.value.toFixed(3)} (limit ${t.target})`);
  for (const f of failures) console.log(`FAILED ${f.instance} [${f.code}]: ${f.message.split('\n')[0]}`);
  console.log(`summary: ${join(out, 'summary.md')}, ${join(out, 'summary.csv')}`);
  if (failures.length > 0) process.exitCode = 1;
}

main().catch((err: Error & { code?: string }) => {
  console.log(`mdrp:all failed${err.code ? ` [${err.code}]` : ''}: ${err.message}`);
  process.exitCode = 1;
});
