/**
 * A short live replay in CI: a small MDRP instance through the running service end to end (stores over
 * HTTP, couriers over the courier socket, Redis, Postgres and the dispatch loop on an accelerated clock).
 * Every order is delivered, the written solution passes the feasibility checker, nothing is assigned
 * twice, and the mean click-to-door stays close to the offline harness's on the same instance.
 */
import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/logger.js';
import { readInstance } from '../../src/sim/mdrp/instance.js';
import { ctdGap, runLiveInstance } from '../../src/sim/live/run-live.js';
import { repoRoot } from '../unit/sim/support/fixtures.js';

// Ten orders, three couriers, all on shift from minute 0 (the offline harness shows couriers to the
// planner 10 minutes before their shift, the live service only once they connect: on a day this small
// that alone moves the mean by several minutes, on a real day by < 1 %).
const instanceDir = join(repoRoot, 'test/fixtures/mdrp/live-small');
/** On ten orders one bundle made differently moves the mean by several percent; the 5 % target is for a real day (BENCHMARKS.md). */
const CTD_TOLERANCE = 0.15;

// about a minute of wall time at ×60, plus the service's start and the offline replay: more than the
// suite's default per-file timeout when the machine is busy
t.setTimeout(300_000);

t.test('a small MDRP day replayed live through the service', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'mdrp-live-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  const instance = readInstance(instanceDir);
  const { live, offline, report, violations } = await runLiveInstance({
    instanceDir,
    outDir: out,
    speed: 60,
    env: { REDIS_URL: process.env.REDIS_URL, DATABASE_URL: process.env.DATABASE_URL },
    log: createLogger({ level: (process.env.TEST_LOG_LEVEL as 'silent' | undefined) ?? 'silent' }),
  });
  t.notOk(report.aborted);
  t.equal(live.delivered, instance.orders.length, 'every order delivered');
  t.same(violations, [], 'the solution passes the feasibility checker');
  t.equal(report.doubleAssignments.total, 0, 'no double assignment');
  t.same(report.doubleAssignments, { overlappingOffers: 0, overlappingAssignments: 0, acceptedTwice: 0, executedTwice: 0, total: 0 });
  t.equal(report.service.delivered, instance.orders.length, 'the service has them delivered too');
  t.equal(report.service.courierMismatches, 0, 'by the couriers that delivered them');
  t.ok(report.rounds.count > 0, 'the dispatch loop planned');
  t.equal(report.statusErrors, 0, 'every status frame was taken');
  t.equal(report.accepted, report.offers - Object.values(report.refused).reduce((a, b) => a + b, 0) - report.acceptFailed);
  t.equal(report.positionsRejected, 0);
  // the service clock stamps each delivery when the frame arrives: close to the rule's minute
  t.ok(Math.abs(report.service.ctdMeanMin - live.ctd_mean) < 0.5, `service ctd ${report.service.ctdMeanMin} vs couriers' ${live.ctd_mean}`);
  for (const f of ['solution_info_assignments.txt', 'solution_info_orders.txt', 'solution_info_couriers.txt', 'metrics.json', 'live.json']) {
    t.ok(existsSync(join(out, f)), f);
  }
  t.same(JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')), JSON.parse(JSON.stringify(live)));
  t.ok(offline, 'compared with the offline harness');
  t.equal(offline!.delivered, instance.orders.length);
  const gap = ctdGap(live, offline!);
  t.ok(Math.abs(gap) <= CTD_TOLERANCE, `live mean click-to-door ${live.ctd_mean.toFixed(2)} vs offline ${offline!.ctd_mean.toFixed(2)} (${(gap * 100).toFixed(1)} %)`);
});
