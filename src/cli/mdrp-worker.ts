/**
 * Worker thread for `npm run mdrp:all`: runs one instance per message and answers with its metrics
 * or the failure (code + message); the parent schedules instances over the cores.
 */
import { parentPort } from 'node:worker_threads';
import { planRound } from '../dispatch/plan-round.js';
import { defaultPolicy, withOverrides } from '../dispatch/policy.js';
import { runInstance, splitSettings } from '../sim/mdrp/run.js';
import type { MdrpMetrics } from '../sim/mdrp/metrics.js';

export interface WorkerJob {
  readonly instanceDir: string;
  readonly outDir: string;
  readonly overrides: Readonly<Record<string, string>>;
}

export type WorkerReply =
  | { readonly ok: true; readonly metrics: MdrpMetrics }
  | { readonly ok: false; readonly code: string; readonly message: string };

if (!parentPort) throw new Error('mdrp-worker must run as a worker thread');
const port = parentPort;
port.on('message', (job: WorkerJob) => {
  let reply: WorkerReply;
  try {
    const { sim, policy } = splitSettings(job.overrides);
    const metrics = runInstance({
      instanceDir: job.instanceDir,
      outDir: job.outDir,
      planner: planRound,
      policy: withOverrides(defaultPolicy, policy),
      sim,
    });
    reply = { ok: true, metrics };
  } catch (err) {
    const e = err as Error & { code?: string };
    reply = { ok: false, code: e.code ?? 'MDRP_RUN_FAILED', message: e.stack ?? e.message };
  }
  port.postMessage(reply);
});
