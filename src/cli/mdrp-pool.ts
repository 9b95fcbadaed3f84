/**
 * Runs many MDRP instances over child processes (one per core by default), reporting each result as it
 * lands. Shared by `mdrp:all` and `mdrp:frontier`.
 */
import { fork } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
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
  const workerPath = fileURLToPath(new URL('./mdrp-worker.ts', import.meta.url));

  const lane = (): Promise<void> =>
    new Promise((resolve, reject) => {
      // The worker is TypeScript: run it through tsx's loader.
      const child = fork(workerPath, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
      let current: PoolJob | undefined;
      const next = () => {
        current = queue.shift();
        if (!current) {
          child.disconnect();
          return;
        }
        child.send({ instanceDir: current.instanceDir, outDir: current.outDir, overrides: current.overrides } satisfies WorkerJob);
      };
      child.on('message', (reply: WorkerReply) => {
        const job = current!;
        if (reply.ok) metrics.push(reply.metrics);
        else failures.push({ instance: job.name, code: reply.code, message: reply.message });
        opts.onDone?.(job, reply);
        next();
      });
      child.on('error', reject);
      child.on('exit', (code, signal) => {
        if (current) reject(new Error(`worker for ${current.name} exited (${signal ?? code}) before answering`));
        else resolve();
      });
      next();
    });
  await Promise.all(Array.from({ length: size }, lane));
  return { metrics, failures };
}
