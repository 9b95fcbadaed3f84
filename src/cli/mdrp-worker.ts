/**
 * Child process for `npm run mdrp:all` / `mdrp:frontier`: runs one instance per message and answers
 * with its metrics or the failure (code + message). A process rather than a thread, so each simulation's
 * CPU time per round (process.cpuUsage) is its own.
 */
import { planRound } from '../dispatch/plan-round.js';
import { mdrpPolicy, runInstance, splitSettings } from '../sim/mdrp/run.js';
import type { MdrpMetrics } from '../sim/mdrp/metrics.js';

export interface WorkerJob {
  readonly instanceDir: string;
  readonly outDir: string;
  readonly overrides: Readonly<Record<string, string>>;
}

export type WorkerReply =
  | { readonly ok: true; readonly metrics: MdrpMetrics }
  | { readonly ok: false; readonly code: string; readonly message: string };

function handle(job: WorkerJob): WorkerReply {
  try {
    const { sim, policy } = splitSettings(job.overrides);
    const metrics = runInstance({
      instanceDir: job.instanceDir,
      outDir: job.outDir,
      planner: planRound,
      policy: mdrpPolicy(policy),
      sim,
    });
    return { ok: true, metrics };
  } catch (err) {
    const e = err as Error & { code?: string };
    return { ok: false, code: e.code ?? 'MDRP_RUN_FAILED', message: e.stack ?? e.message };
  }
}

if (process.send) {
  process.on('message', (job: WorkerJob) => process.send!(handle(job)));
}
