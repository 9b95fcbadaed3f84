/**
 * `npm run mdrp:live -- --instance DIR --speed N --out DIR [--centre LAT,LNG] [--ready-late]
 *                       [--positions-every S] [--no-offline] [--keep]`
 *
 * Replays one MDRP instance through the running service end to end (in this process: real sockets,
 * Redis, Postgres and dispatch loop; simulated stores and couriers on a clock N times faster than the
 * wall clock), writes the evaluator's three solution files, metrics.json and live.json to --out, checks
 * feasibility and double assignments, and compares with the offline harness on the same instance
 * (written to --out/offline). Exits non-zero on an infeasible solution or a double assignment.
 * The service log goes to --out/service.log.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { pino } from 'pino';
import { createLogger } from '../logger.js';
import { parseCentre } from '../sim/live/projection.js';
import { MdrpDataMissingError, requireInstanceDir } from '../sim/mdrp/data-dir.js';
import { comparisonLines, ctdGap, runLiveInstance } from '../sim/live/run-live.js';

const USAGE =
  'usage: npm run mdrp:live -- --instance DIR --speed N --out DIR [--centre LAT,LNG] [--ready-late] [--positions-every S] [--no-offline] [--keep]';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      instance: { type: 'string' },
      speed: { type: 'string', default: '30' },
      out: { type: 'string' },
      centre: { type: 'string' },
      'ready-late': { type: 'boolean', default: false },
      'positions-every': { type: 'string', default: '30' },
      'no-offline': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.instance || !values.out) {
    console.error(`--instance and --out are required\n${USAGE}`);
    return 2;
  }
  try {
    requireInstanceDir(values.instance);
  } catch (err) {
    if (!(err instanceof MdrpDataMissingError)) throw err;
    console.error(err.message);
    return 2;
  }
  const speed = Number(values.speed);
  const positionEveryS = Number(values['positions-every']);
  if (!(speed > 0 && speed <= 1000)) {
    console.error(`--speed must be a number in (0, 1000], got ${values.speed}`);
    return 2;
  }
  if (!(positionEveryS >= 1)) {
    console.error(`--positions-every must be ≥ 1 (service seconds), got ${values['positions-every']}`);
    return 2;
  }
  const out = resolve(values.out);
  mkdirSync(out, { recursive: true });
  const logFile = join(out, 'service.log');
  const log = createLogger({ level: (process.env.LOG_LEVEL as 'warn' | undefined) ?? 'warn', destination: pino.destination({ dest: logFile, sync: false, mkdir: true }) });

  const bar = new cliProgress.SingleBar(
    {
      format: 'mdrp:live {bar} minute {minute}/{last} | placed {placed} | delivered {delivered} | couriers online {online}',
      hideCursor: true,
      noTTYOutput: true,
      notTTYSchedule: 10_000,
    },
    cliProgress.Presets.shades_classic,
  );
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  let first = 0;
  const result = await runLiveInstance({
    instanceDir: resolve(values.instance),
    outDir: out,
    speed,
    ...(values.centre ? { centre: parseCentre(values.centre) } : {}),
    readyKnown: !values['ready-late'],
    positionEveryS,
    offline: !values['no-offline'],
    keep: values.keep,
    env: process.env,
    log,
    signal: abort.signal,
    onStart: ({ firstMinute, lastMinute, baseUrl }) => {
      first = firstMinute;
      console.log(`service at ${baseUrl} (log: ${logFile}); replaying minutes ${firstMinute}–${lastMinute} at ×${speed}`);
      bar.start(lastMinute - firstMinute, 0, { minute: firstMinute, last: lastMinute, placed: 0, delivered: 0, online: 0 });
    },
    onProgress: (p) =>
      bar.update(Math.max(0, Math.floor(p.minute) - first), { minute: Math.floor(p.minute), placed: p.placed, delivered: p.delivered, online: p.couriersOnline }),
  }).finally(() => bar.stop());

  const { live, offline, report, violations } = result;
  console.log(`\n${report.instance}: ${report.wallSeconds.toFixed(0)} s wall at ×${speed} (achieved ×${report.achievedSpeed.toFixed(1)})${report.aborted ? ' — ABORTED' : ''}`);
  for (const line of comparisonLines(live, offline)) console.log(line);
  console.log(
    `rounds ${report.rounds.count} (overran ${report.rounds.overran}, wall p50 ${report.rounds.wallMsP50.toFixed(0)} ms, p99 ${report.rounds.wallMsP99.toFixed(0)} ms)` +
      ` | offer lag p50 ${report.offerLagS.p50.toFixed(1)} s, p99 ${report.offerLagS.p99.toFixed(1)} s` +
      ` | status lag p50 ${report.statusLagS.p50.toFixed(1)} s, p99 ${report.statusLagS.p99.toFixed(1)} s (service time)`,
  );
  console.log(
    `offers ${report.offers}, accepted ${report.accepted}, refused ${JSON.stringify(report.refused)}, accept failed ${report.acceptFailed}, ` +
      `status errors ${report.statusErrors} (arrivals the geofence saw first ${report.arrivalsByGeofence}), positions ${report.positions} (rejected ${report.positionsRejected})`,
  );
  console.log(`service record: delivered ${report.service.delivered}, ctd mean ${report.service.ctdMeanMin.toFixed(2)} min, courier mismatches ${report.service.courierMismatches}`);
  const doubles = report.doubleAssignments.total;
  console.log(`${violations.length === 0 ? 'ok  ' : 'FAIL'} feasibility checker: ${violations.length} violation(s)${violations.length ? ` (${join(out, 'violations.json')})` : ''}`);
  console.log(`${doubles === 0 ? 'ok  ' : 'FAIL'} double assignments: ${doubles} ${JSON.stringify(report.doubleAssignments)}`);
  if (offline) {
    const gap = ctdGap(live, offline);
    console.log(`${Math.abs(gap) <= 0.05 ? 'ok  ' : 'MISS'} live mean click-to-door within 5 % of offline: ${(gap * 100).toFixed(2)} %`);
  }
  console.log(`written: ${out}/solution_info_*.txt, metrics.json, live.json${offline ? `, offline/` : ''}`);
  return violations.length > 0 || doubles > 0 || report.aborted ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
    // sockets and pools are closed; timers of an aborted replay must not keep the process alive
    setTimeout(() => process.exit(code), 500).unref();
  },
  (err: Error & { code?: string }) => {
    console.error(`mdrp:live failed${err.code ? ` [${err.code}]` : ''}: ${err.message}`);
    process.exit(1);
  },
);
