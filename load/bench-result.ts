/** The end of every load script: the result as JSON on stdout and, with `--json FILE`, in that file. */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { dirname } from 'node:path';

/** When and on what the run happened: the first fields of every result. */
export function runStamp(): { date: string; cpus: number; loadavg_1m_at_end: number } {
  return { date: new Date().toISOString(), cpus: cpus().length, loadavg_1m_at_end: Number(loadavg()[0]!.toFixed(2)) };
}

export async function reportResult(result: unknown, jsonPath: string | undefined): Promise<void> {
  console.log(JSON.stringify(result, null, 2));
  if (!jsonPath) return;
  await mkdir(dirname(jsonPath), { recursive: true });
  await writeFile(jsonPath, `${JSON.stringify(result, null, 2)}\n`);
}
