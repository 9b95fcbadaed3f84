/**
 * Where and on what a benchmark ran: code revision, date, Node, cores and the machine's load, so a
 * summary can be read honestly later (wall times depend on the load).
 */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';

/** The commit the code comes from; DISPATCHD_REVISION wins (runs from an exported snapshot have no .git). */
export function revision(): string {
  if (process.env.DISPATCHD_REVISION) return process.env.DISPATCHD_REVISION;
  try {
    const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = git('status', '--porcelain', 'src/dispatch', 'src/sim');
    return `${git('rev-parse', '--short', 'HEAD')}${dirty ? ' + uncommitted changes' : ''}`;
  } catch {
    return 'unknown revision';
  }
}

export function runInfoLines(startLoad: readonly number[]): string[] {
  const cpu = cpus();
  const load = (l: readonly number[]) => l.map((x) => x.toFixed(1)).join(' / ');
  return [
    `Code ${revision()}; ${new Date().toISOString()}; Node ${process.version}; ${cpu.length} cores (${cpu[0]?.model ?? 'unknown'}).`,
    `Load average (1/5/15 min) at start ${load(startLoad)}, at end ${load(loadavg())}: wall times grow with it, CPU times do not.`,
  ];
}
