/**
 * What `REDIS_URL` names: one Redis (`redis://…`, `rediss://…`, as ioredis reads them) or a Redis Cluster.
 *
 * Cluster convention: `redis+cluster://[user:password@]host1:port1,host2:port2,…` (`rediss+cluster://`
 * for TLS). The hosts are only seed nodes: the client asks them for the slot map and finds every other
 * master and replica itself, so listing two or three is enough. A port defaults to 6379. No database
 * number and no path: a cluster has database 0 only.
 */

export interface RedisNode {
  readonly host: string;
  readonly port: number;
}

export type RedisTarget =
  | { readonly kind: 'single'; readonly url: string }
  | {
      readonly kind: 'cluster';
      readonly nodes: readonly RedisNode[];
      readonly username?: string;
      readonly password?: string;
      readonly tls: boolean;
    };

export class RedisUrlError extends Error {
  override readonly name = 'RedisUrlError';
}

const CLUSTER_SCHEMES: Record<string, boolean> = { 'redis+cluster:': false, 'rediss+cluster:': true };

/** True for the cluster schemes (cheap check, no validation). */
export function isClusterUrl(url: string): boolean {
  const scheme = /^([a-z+]+:)\/\//i.exec(url.trim())?.[1]?.toLowerCase();
  return scheme !== undefined && scheme in CLUSTER_SCHEMES;
}

/** Parses REDIS_URL; throws RedisUrlError with a message fit for a config error (never echoing a password). */
export function parseRedisUrl(raw: string): RedisTarget {
  const url = raw.trim();
  const m = /^([a-z+]+:)\/\/(.*)$/i.exec(url);
  if (!m) throw new RedisUrlError('must be a URL (redis:, rediss:, redis+cluster: or rediss+cluster:)');
  const scheme = m[1].toLowerCase();
  if (scheme === 'redis:' || scheme === 'rediss:') {
    try {
      new URL(url);
    } catch {
      throw new RedisUrlError(`must be a URL (${scheme}), got an unparsable value`);
    }
    return { kind: 'single', url };
  }
  if (!(scheme in CLUSTER_SCHEMES)) {
    throw new RedisUrlError(`must use redis:, rediss:, redis+cluster: or rediss+cluster:, got ${scheme}`);
  }
  let rest = m[2];
  let username: string | undefined;
  let password: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const auth = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = auth.indexOf(':');
    const user = decodeURIComponent(colon >= 0 ? auth.slice(0, colon) : auth);
    const pass = colon >= 0 ? decodeURIComponent(auth.slice(colon + 1)) : undefined;
    if (user) username = user;
    if (pass) password = pass;
  }
  // a trailing '/' or '/0' is tolerated (database 0 is the only one a cluster has)
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const path = rest.slice(slash);
    if (path !== '/' && path !== '/0') throw new RedisUrlError('a cluster has database 0 only: no database number or path after the hosts');
    rest = rest.slice(0, slash);
  }
  if (rest.includes('?')) throw new RedisUrlError('a cluster URL takes no query parameters');
  const nodes: RedisNode[] = [];
  for (const part of rest.split(',')) {
    const hostPort = part.trim();
    if (hostPort === '') throw new RedisUrlError('a cluster URL lists host:port pairs separated by commas, one was empty');
    // [::1]:7000 for IPv6, host:port otherwise
    const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(hostPort);
    const v4 = v6 ? null : /^([^:[\]]+)(?::(\d+))?$/.exec(hostPort);
    const hit = v6 ?? v4;
    if (!hit) throw new RedisUrlError(`not a host:port pair: ${hostPort}`);
    const port = hit[2] === undefined ? 6379 : Number(hit[2]);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RedisUrlError(`bad port in ${hostPort}`);
    nodes.push({ host: hit[1], port });
  }
  return { kind: 'cluster', nodes, username, password, tls: CLUSTER_SCHEMES[scheme] };
}

/** The cluster URL for seed nodes (what the embedded cluster hands out). */
export function clusterUrl(nodes: readonly RedisNode[], tls = false): string {
  return `${tls ? 'rediss' : 'redis'}+cluster://${nodes.map((n) => (n.host.includes(':') ? `[${n.host}]:${n.port}` : `${n.host}:${n.port}`)).join(',')}`;
}

/** A URL safe to log: the password masked (either kind). */
export function redactRedisUrl(raw: string): string {
  if (!isClusterUrl(raw)) {
    try {
      const u = new URL(raw);
      if (u.password) u.password = '***';
      return u.toString();
    } catch {
      return '(invalid url)';
    }
  }
  return raw.replace(/^([a-z+]+:\/\/)([^@/]*:)[^@/]*@/i, '$1$2***@');
}
