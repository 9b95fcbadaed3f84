/**
 * A zone's dispatcher lease: at most one node runs a round of a zone at a time.
 *
 * Key `dispatch-lease:{<zone>}` (zone as hash tag, like the zone's open pool) holds a token of the holder,
 * set with NX and a time-to-live so a node that dies mid-round frees the zone by itself. Renew and
 * release check the token in Lua, so a node whose lease ran out can never extend or delete the lease a
 * second node took in the meantime.
 *
 * The token is `<holder>/<random uuid>`, the holder being `<hostname>-<pid>` of the process: who runs a
 * zone's round right now is one `GET` away (operators; the multi-node fault test kills exactly that
 * process). The random part alone makes the token unique.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { redisKeys } from './keys.js';

export const leaseKey = redisKeys.dispatchLease;

const RENEW_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;
const RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

export interface Lease {
  readonly zone: string;
  readonly token: string;
}

/** This process as a lease holder: `<hostname>-<pid>`. */
export function leaseHolderName(): string {
  return `${hostname()}-${process.pid}`;
}

/** The holder part of a lease token (null for a value that is not one). */
export function leaseHolderOf(token: string | null): string | null {
  const slash = token?.lastIndexOf('/') ?? -1;
  return slash > 0 ? token!.slice(0, slash) : null;
}

export class ZoneLeases {
  constructor(
    private readonly redis: Redis,
    private readonly holder: string = leaseHolderName(),
  ) {}

  /** The lease, or null when another holder has it. */
  async acquire(zone: string, ttlMs: number): Promise<Lease | null> {
    const token = `${this.holder}/${randomUUID()}`;
    const ok = await this.redis.set(leaseKey(zone), token, 'PX', Math.max(1, Math.round(ttlMs)), 'NX');
    return ok === 'OK' ? { zone, token } : null;
  }

  /** Extends the lease; false when it was lost (expired, taken by another holder). */
  async renew(lease: Lease, ttlMs: number): Promise<boolean> {
    return (await this.redis.eval(RENEW_LUA, 1, leaseKey(lease.zone), lease.token, Math.max(1, Math.round(ttlMs)))) === 1;
  }

  /** Gives the lease up; false when it was not held any more. */
  async release(lease: Lease): Promise<boolean> {
    return (await this.redis.eval(RELEASE_LUA, 1, leaseKey(lease.zone), lease.token)) === 1;
  }
}
