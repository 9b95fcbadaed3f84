/**
 * One instance through the running service end to end (`npm run mdrp:live`): start the service in this
 * process on a clock `speed` times faster than the wall clock, replay the day with simulated stores and
 * couriers, then write what the couriers did as the offline harness's three evaluator files and
 * metrics.json, check feasibility, audit double assignments in Postgres, and replay the same instance
 * offline (src/sim/mdrp/run.ts) for comparison.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { planRound } from '../../dispatch/plan-round.js';
import { defaultPolicy } from '../../dispatch/policy.js';
import type { RoundRecord } from '../../runtime/dispatcher.js';
import type { LatLng } from '../../domain/geo.js';
import type { Logger } from '../../logger.js';
import { checkSolutionDir, type Violation } from '../mdrp/checker.js';
import { readInstance, type MdrpInstance } from '../mdrp/instance.js';
import { computeMetrics, quantile, type MdrpMetrics } from '../mdrp/metrics.js';
import { runInstance } from '../mdrp/run.js';
import { defaultSimOptions } from '../mdrp/simulate.js';
import { formatSolution, writeSolution } from '../mdrp/solution.js';
import { auditDoubleAssignments, serviceRecord, type DoubleAssignmentAudit, type ServiceRecord } from './audit.js';
import { projectInstance } from './projection.js';
import { runLiveReplay, type ReplayProgress } from './replay.js';
import { ReplayClock } from './replay-clock.js';
import { instanceEnv, startLiveService } from './service.js';
import { midnightUtc, timelineFrom } from './timeline.js';

export interface LiveRunOptions {
  readonly instanceDir: string;
  readonly outDir: string;
  /** Service-clock speed (× wall clock). */
  readonly speed: number;
  readonly centre?: LatLng;
  readonly readyKnown?: boolean;
  /** Service seconds between position frames of a courier (default 30). */
  readonly positionEveryS?: number;
  /** Also replay offline for comparison (default true). */
  readonly offline?: boolean;
  /** Keep the run's database and Redis keys (default: dropped). */
  readonly keep?: boolean;
  /** Service environment (REDIS_URL, DATABASE_URL, DATA_DIR, policy…); the instance's keys override. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly log: Logger;
  readonly onStart?: (info: { firstMinute: number; lastMinute: number; baseUrl: string }) => void;
  readonly onProgress?: (p: ReplayProgress) => void;
  readonly signal?: AbortSignal;
}

export interface LagFigures {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/** How the live run went, beyond the evaluator's metrics (written as live.json). */
export interface LiveReport {
  readonly instance: string;
  readonly speed: number;
  readonly readyKnown: boolean;
  readonly wallSeconds: number;
  /** Simulated minutes per wall minute actually achieved (≈ speed when nothing waits). */
  readonly achievedSpeed: number;
  readonly aborted: boolean;
  readonly violations: number;
  readonly doubleAssignments: DoubleAssignmentAudit;
  readonly service: ServiceRecord;
  readonly rounds: { readonly count: number; readonly overran: number; readonly wallMsP50: number; readonly wallMsP99: number; readonly wallMsMax: number };
  /** Service seconds from an offer's creation to the courier receiving it. */
  readonly offerLagS: LagFigures;
  /** Service seconds by which status frames left after the rule's minute. */
  readonly statusLagS: LagFigures;
  /** Service seconds by which orders were placed after their placement minute. */
  readonly placeLagS: LagFigures;
  readonly offers: number;
  readonly accepted: number;
  readonly refused: Readonly<Record<string, number>>;
  readonly acceptFailed: number;
  readonly statusErrors: number;
  readonly arrivalsByGeofence: number;
  readonly positions: number;
  readonly positionsRejected: number;
  readonly placeFailures: number;
}

export interface LiveRunResult {
  readonly live: MdrpMetrics;
  readonly offline?: MdrpMetrics;
  readonly report: LiveReport;
  readonly violations: readonly Violation[];
}

function lag(valuesMs: readonly number[]): LagFigures {
  const s = valuesMs.map((v) => v / 1000).sort((a, b) => a - b);
  return { p50: quantile(s, 0.5), p99: quantile(s, 0.99), max: s.length ? s[s.length - 1]! : 0 };
}

function span(instance: MdrpInstance): { first: number; last: number } {
  const first = Math.min(...instance.orders.map((o) => o.placementTime), ...instance.couriers.map((c) => c.onTime));
  const last = Math.max(...instance.orders.map((o) => o.placementTime), ...instance.couriers.map((c) => c.offTime));
  return { first, last };
}

export async function runLiveInstance(opts: LiveRunOptions): Promise<LiveRunResult> {
  const instance = readInstance(opts.instanceDir);
  const readyKnown = opts.readyKnown ?? true;
  const { first, last } = span(instance);
  const timeline = timelineFrom(midnightUtc(Date.now()));
  // a minute of lead so the first couriers and orders meet a running service
  const clock = new ReplayClock(timeline.toMs(first - 1), opts.speed);
  const projection = projectInstance(instance, opts.centre);
  const service = await startLiveService({
    clock,
    log: opts.log,
    name: 'mdrp_live',
    env: { ...opts.env, ...instanceEnv(instance.params, defaultSimOptions.roundEveryMin) },
  });
  const rounds: RoundRecord[] = [];
  service.app.dispatcher.onRound((r) => rounds.push(r));
  let audit: DoubleAssignmentAudit;
  let record: ServiceRecord;
  let replay: Awaited<ReturnType<typeof runLiveReplay>>;
  try {
    opts.onStart?.({ firstMinute: first, lastMinute: last, baseUrl: service.baseUrl });
    clock.start();
    replay = await runLiveReplay({
      instance,
      baseUrl: service.baseUrl,
      wsUrl: service.wsUrl,
      clock,
      token: (role, sub) => service.token(role, sub),
      timeline,
      projection,
      readyKnown,
      positionEveryS: opts.positionEveryS ?? 30,
      log: opts.log,
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      // rounds skipped because the previous one still ran planned nothing
      rounds: () => ({ rounds: rounds.filter((r) => !r.overran).length, solveMs: rounds.filter((r) => !r.overran).map((r) => r.solveMs) }),
    });
    const deliveredBy = new Map<string, string>();
    for (const [id, o] of replay.result.outcomes) deliveredBy.set(id, o.courierId);
    audit = await auditDoubleAssignments(service.db, replay.executedBy);
    record = await serviceRecord(service.db, deliveredBy);
  } finally {
    await service.stop({ keep: opts.keep ?? false });
  }

  mkdirSync(opts.outDir, { recursive: true });
  writeSolution(opts.outDir, formatSolution(replay.result));
  const violations = checkSolutionDir(instance, opts.outDir);
  if (violations.length > 0) writeFileSync(join(opts.outDir, 'violations.json'), JSON.stringify(violations, null, 2) + '\n');
  const live = computeMetrics(replay.result);
  writeFileSync(join(opts.outDir, 'metrics.json'), JSON.stringify(live, null, 2) + '\n');

  const couriers = replay.couriers;
  const sum = (f: (c: (typeof couriers)[number]) => number) => couriers.reduce((n, c) => n + f(c), 0);
  const refused: Record<string, number> = {};
  for (const c of couriers) for (const [k, v] of Object.entries(c.stats.refused)) refused[k] = (refused[k] ?? 0) + v;
  const roundWall = rounds.map((r) => r.wallMs).sort((a, b) => a - b);
  const report: LiveReport = {
    instance: instance.name,
    speed: opts.speed,
    readyKnown,
    wallSeconds: replay.wallMs / 1000,
    achievedSpeed: replay.wallMs > 0 ? replay.serviceMs / replay.wallMs : 0,
    aborted: replay.aborted,
    violations: violations.length,
    doubleAssignments: audit,
    service: record,
    rounds: {
      count: rounds.length,
      overran: rounds.filter((r) => r.overran).length,
      wallMsP50: quantile(roundWall, 0.5),
      wallMsP99: quantile(roundWall, 0.99),
      wallMsMax: roundWall.length ? roundWall[roundWall.length - 1]! : 0,
    },
    offerLagS: lag(couriers.flatMap((c) => c.stats.offerLagMs)),
    statusLagS: lag(couriers.flatMap((c) => c.stats.statusLagMs)),
    placeLagS: lag(replay.stores.stats.placeLagMs),
    offers: sum((c) => c.stats.offers),
    accepted: sum((c) => c.stats.accepted),
    refused,
    acceptFailed: sum((c) => c.stats.acceptFailed),
    statusErrors: sum((c) => c.stats.statusErrors),
    arrivalsByGeofence: sum((c) => c.stats.arrivalsByGeofence),
    positions: sum((c) => c.stats.positionsSent),
    positionsRejected: sum((c) => c.stats.positionsRejected),
    placeFailures: replay.stores.stats.failed,
  };
  writeFileSync(join(opts.outDir, 'live.json'), JSON.stringify(report, null, 2) + '\n');

  let offline: MdrpMetrics | undefined;
  if (opts.offline ?? true) {
    offline = runInstance({
      instanceDir: opts.instanceDir,
      outDir: join(opts.outDir, 'offline'),
      planner: planRound,
      policy: defaultPolicy,
      sim: { readyKnown },
      logger: opts.log,
    });
  }
  return { live, ...(offline ? { offline } : {}), report, violations };
}

/** The comparison table the CLI prints (and BENCHMARKS.md quotes). */
export function comparisonLines(live: MdrpMetrics, offline: MdrpMetrics | undefined): string[] {
  const rows: [string, keyof MdrpMetrics, number][] = [
    ['delivered', 'delivered', 0],
    ['click-to-door mean (min)', 'ctd_mean', 2],
    ['click-to-door p90 (min)', 'ctd_p90', 2],
    ['overage mean (min)', 'ctd_overage_mean', 2],
    ['ready-to-pickup mean (min)', 'r2p_mean', 2],
    ['orders per bundle', 'orders_per_bundle', 2],
    ['pay per order ($)', 'pay_per_order', 2],
    ['utilization', 'utilization_mean', 3],
  ];
  const lines = [`${'metric'.padEnd(28)} ${'live'.padStart(10)} ${'offline'.padStart(10)} ${'diff'.padStart(8)}`];
  for (const [label, key, digits] of rows) {
    const a = live[key] as number;
    const b = offline?.[key] as number | undefined;
    const diff = b === undefined || b === 0 ? '' : `${(((a - b) / b) * 100).toFixed(1)} %`;
    lines.push(`${label.padEnd(28)} ${a.toFixed(digits).padStart(10)} ${(b === undefined ? '-' : b.toFixed(digits)).padStart(10)} ${diff.padStart(8)}`);
  }
  return lines;
}

/** Live mean click-to-door relative to offline (0.03 = 3 % slower). */
export function ctdGap(live: MdrpMetrics, offline: MdrpMetrics): number {
  return (live.ctd_mean - offline.ctd_mean) / offline.ctd_mean;
}
