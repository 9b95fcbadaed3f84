/**
 * Runs many MDRP instances over worker threads (one per core by default), reporting each result as it
 * lands. Shared by `mdrp:all` and `mdrp:frontier`.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Failure } from '../sim/mdrp/summary.js';
import type { MdrpMetrics } from '../sim/mdrp/metrics.js';
import type { WorkerJob, WorkerReply } from './mdrp-worker.js';

export interface PoolJob extends WorkerJob {
  readonly name: string;
}

export async function runPool(
  jobs: readonly PoolJob[],
  opts: { workers?: number; onDone?: (job: PoolJob, reply: WorkerReply) => void } = {},
): Promise<{ metrics: MdrpMetrics[]; failures: Failure[] }> {
  const metrics: MdrpMetrics[] = [];
  const failures: Failure[] = [];
  const queue = [...jobs];
  const size = Math.max(1, Math.min(opts.workers ?? availableParallelism(), queue.length));
  const workerUrl = new URL('./mdrp-worker.ts', import.meta.url);

  const lane = (): Promise<void> =>
    new Promise((resolve, reject) => {
      // The worker is TypeScript: a tiny bootstrap registers tsx's loader in the thread, then imports it.
      const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(workerUrl.href)}); })`;
      const worker = new Worker(boot, { eval: true });
      let current: PoolJob | undefined;
      const next = () => {
        current = queue.shift();
        if (!current) {
          void worker.terminate().then(() => resolve());
          return;
        }
        worker.postMessage({ instanceDir: current.instanceDir, outDir: current.outDir, overrides: current.overrides } satisfies WorkerJob);
      };
      worker.on('message', (reply: WorkerReply) => {
        const job = current!;
        if (reply.ok) metrics.push(reply.metrics);
        else failures.push({ instance: job.name, code: reply.code, message: reply.message });
        opts.onDone?.(job, reply);
        next();
      });
      worker.on('error', reject);
      next();
    });
  await Promise.all(Array.from({ length: size }, lane));
  return { metrics, failures };
}
