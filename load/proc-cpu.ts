/**
 * CPU accounting from /proc for the load scripts (Linux): what a process, or every local Postgres process,
 * has used so far. Robust to other load on the machine, unlike rates and latencies.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** User + system CPU seconds in a /proc/<pid>/stat line (fields 14 and 15, in ticks of 1/100 s). */
export function statCpuSeconds(stat: string): { total: number; system: number } {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { total: (Number(fields[11]) + Number(fields[12])) / 100, system: Number(fields[12]) / 100 };
}

/** CPU seconds of every local `postgres` process (the server's backends and workers, COPY included). */
export function postgresCpuSeconds(): number | null {
  try {
    let total = 0;
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        if (stat.includes('(postgres)')) total += statCpuSeconds(stat).total;
      } catch {
        // exited meanwhile
      }
    }
    return total;
  } catch {
    return null;
  }
}
