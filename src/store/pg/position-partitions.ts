/**
 * Daily partitions of courier_positions (UTC days): created ahead of time, dropped once a whole day
 * is older than the retention window. Dropping a partition is instant and leaves no dead rows.
 */
import type { Pool, PoolClient } from 'pg';
import type { Clock } from '../../clock.js';
import type { Logger } from '../../logger.js';

const DAY_MS = 86_400_000;
const PARENT = 'courier_positions';
const NAME_RE = /^courier_positions_p(\d{4})(\d{2})(\d{2})$/;

type Queryable = Pool | PoolClient;

export function dayStart(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

export function partitionName(dayMs: number): string {
  return `${PARENT}_p${new Date(dayStart(dayMs)).toISOString().slice(0, 10).replaceAll('-', '')}`;
}

/** Creates the partition holding `dayMs` if missing; safe when several processes race to create it. */
export async function ensurePartition(db: Queryable, dayMs: number): Promise<void> {
  const from = dayStart(dayMs);
  const sql = `create table if not exists ${partitionName(from)} partition of ${PARENT}
    for values from ('${new Date(from).toISOString()}') to ('${new Date(from + DAY_MS).toISOString()}')`;
  try {
    await db.query(sql);
  } catch (err) {
    // A concurrent creator won: 42P07 duplicate_table, or 23505 on the catalog's unique index.
    const code = (err as { code?: string }).code;
    if (code !== '42P07' && code !== '23505') throw err;
  }
}

export async function listPartitions(db: Queryable): Promise<{ name: string; dayMs: number }[]> {
  const { rows } = await db.query<{ name: string }>(
    `select c.relname as name from pg_inherits i
       join pg_class c on c.oid = i.inhrelid
       join pg_class p on p.oid = i.inhparent
      where p.relname = $1 and p.relnamespace = to_regnamespace(current_schema())::oid`,
    [PARENT],
  );
  const out: { name: string; dayMs: number }[] = [];
  for (const { name } of rows) {
    const m = NAME_RE.exec(name);
    if (m) out.push({ name, dayMs: Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) });
  }
  return out.sort((a, b) => a.dayMs - b.dayMs);
}

/** Drops partitions whose whole day is older than now − retentionDays; returns their names. */
export async function dropExpiredPartitions(db: Queryable, nowMs: number, retentionDays: number): Promise<string[]> {
  const cutoff = nowMs - retentionDays * DAY_MS;
  const dropped: string[] = [];
  for (const p of await listPartitions(db)) {
    if (p.dayMs + DAY_MS <= cutoff) {
      await db.query(`drop table if exists ${p.name}`);
      dropped.push(p.name);
    }
  }
  return dropped;
}

/** Today's partition, `aheadDays` more, and yesterday's (late points near midnight). */
export async function ensureUpcomingPartitions(db: Queryable, nowMs: number, aheadDays = 2): Promise<void> {
  for (let d = -1; d <= aheadDays; d++) await ensurePartition(db, nowMs + d * DAY_MS);
}

/** Runs maintenance now and then every `everyMs` (clock time) until stopped. */
export class PartitionMaintainer {
  private cancel: (() => void) | null = null;
  private stopped = false;

  constructor(
    private readonly db: Pool,
    private readonly clock: Clock,
    private readonly retentionDays: number,
    private readonly log?: Pick<Logger, 'info' | 'error'>,
    private readonly everyMs = 3_600_000,
  ) {}

  async runOnce(): Promise<string[]> {
    const now = this.clock.now();
    await ensureUpcomingPartitions(this.db, now);
    const dropped = await dropExpiredPartitions(this.db, now, this.retentionDays);
    if (dropped.length) this.log?.info({ dropped }, 'dropped expired courier position partitions');
    return dropped;
  }

  async start(): Promise<void> {
    await this.runOnce();
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.cancel = this.clock.setTimeout(() => {
      this.runOnce()
        .catch((err: unknown) => this.log?.error({ err }, 'partition maintenance failed'))
        .finally(() => this.schedule());
    }, this.everyMs);
  }

  stop(): void {
    this.stopped = true;
    this.cancel?.();
  }
}
