/**
 * Many independent commands in one round trip, on one Redis or a Redis Cluster.
 *
 * On one Redis: one pipeline (MULTI-free), as the code always did. On a cluster, keys of many slots live
 * on several nodes and an ioredis pipeline must stay on one node, so the commands are issued one by one in
 * the same event-loop turn: the Cluster client auto-pipelines them, one pipeline per node. Either way the
 * result is ioredis' `[error, value][]`, in command order.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { isCluster } from './client.js';

export type BatchCommand = readonly [name: string, ...args: (string | number | Buffer)[]];
export type BatchResult = [Error | null, unknown][];

export async function batch(redis: Redis, commands: readonly BatchCommand[]): Promise<BatchResult> {
  if (commands.length === 0) return [];
  if (!isCluster(redis)) return ((await redis.pipeline(commands.map((c) => [...c])).exec()) ?? []) as BatchResult;
  const client = redis as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  return Promise.all(
    commands.map(([name, ...args]) =>
      client[name]!.apply(redis, args).then(
        (value): [Error | null, unknown] => [null, value],
        (err: unknown): [Error | null, unknown] => [err instanceof Error ? err : new Error(String(err)), null],
      ),
    ),
  );
}

/** Like `batch`, throwing the first error; returns the values. */
export async function batchValues(redis: Redis, commands: readonly BatchCommand[]): Promise<unknown[]> {
  const results = await batch(redis, commands);
  const failed = results.find(([err]) => err);
  if (failed) throw failed[0];
  return results.map(([, v]) => v);
}

/**
 * Runs a MULTI (or pipeline) and throws its first error: ioredis resolves `exec()` with per-command errors
 * (a MOVED inside a transaction, a wrong type) and with null when the transaction was aborted.
 */
export async function execChecked(tx: { exec(): Promise<[Error | null, unknown][] | null> }): Promise<unknown[]> {
  const results = await tx.exec();
  if (!results) throw new Error('EXECABORT the transaction was aborted');
  const failed = results.find(([err]) => err);
  if (failed) throw failed[0];
  return results.map(([, v]) => v);
}

/**
 * Writes that belong together: one MULTI on one Redis (atomic, as before). On a cluster their keys may lie
 * in several slots, where no MULTI reaches: they run one after another in the given order, so callers
 * order them such that a failure part-way leaves only harmless state (docs/scaling.md lists each case).
 */
export async function writeTogether(redis: Redis, commands: readonly BatchCommand[]): Promise<unknown[]> {
  if (!isCluster(redis)) {
    return execChecked(redis.multi(commands.map((c) => [...c])));
  }
  const client = redis as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const out: unknown[] = [];
  for (const [name, ...args] of commands) out.push(await client[name]!.apply(redis, args));
  return out;
}

/** A Lua script run by its SHA1 (EVALSHA), loading it with EVAL on NOSCRIPT (a new or restarted node). */
export class RedisScript {
  readonly sha: string;
  constructor(readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  /**
   * Runs on the node owning `keys` (all of one slot on a cluster). EVALSHA / EVAL are commands ioredis knows
   * the keys of, so a Cluster client routes and auto-pipelines them by slot (scripts made with
   * defineCommand are grouped by their first argument, the key count, and break cluster pipelines).
   */
  async run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!String((err as Error).message).startsWith('NOSCRIPT')) throw err;
      return redis.eval(this.lua, keys.length, ...keys, ...args);
    }
  }
}
