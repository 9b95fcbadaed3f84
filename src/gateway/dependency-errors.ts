/**
 * Tells "a dependency is unreachable" (PostgreSQL or Redis down, restarting, out of connections) from a
 * bug, so clients get `503 dependency_unavailable` + `Retry-After` ("retry later") instead of a 500.
 * Looks at the error and its `cause` chain (wrappers such as StoreUnavailableError keep the original).
 */

export type Dependency = 'postgres' | 'redis';

/** Seconds a client is asked to wait before retrying a request that met an unavailable dependency. */
export const DEPENDENCY_RETRY_AFTER_S = 2;

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EPIPE', 'EAI_AGAIN']);

/** SQLSTATEs of a server that is not there for us right now: connection exceptions, shutdown, overload. */
function isPgUnavailableState(code: string): boolean {
  return code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300' || code === '53400';
}

/** node-postgres / pg-pool raise plain Errors for these (no code). */
const PG_MESSAGES = [/^timeout exceeded when trying to connect/i, /^Connection terminated/i, /^Client has encountered a connection error/i, /^Cannot use a pool after calling end/i];
/** ioredis: the offline queue gave up, the connection is closed, or Redis is still loading its data. */
const REDIS_MESSAGES = [/^Reached the max retries per request limit/i, /^Connection is closed/i, /^Stream isn't writeable/i, /^LOADING /, /^MASTERDOWN/, /^READONLY/];

function unavailableIn(err: unknown): Dependency | null {
  if (!(err instanceof Error)) return null;
  const e = err as Error & { code?: unknown; severity?: unknown };
  if (e.name === 'MaxRetriesPerRequestError' || REDIS_MESSAGES.some((r) => r.test(e.message))) return 'redis';
  if (typeof e.code === 'string' && e.severity !== undefined && isPgUnavailableState(e.code)) return 'postgres';
  if (PG_MESSAGES.some((r) => r.test(e.message))) return 'postgres';
  // A raw socket error reaching a request is node-postgres' (ioredis queues commands while it reconnects
  // and fails them with the errors above, never with the socket's own).
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return 'postgres';
  return null;
}

/** The dependency that made `err` happen, or null when it is something else (a bug, bad input). */
export function unavailableDependency(err: unknown): Dependency | null {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const dep = unavailableIn(e);
    if (dep) return dep;
  }
  return null;
}
