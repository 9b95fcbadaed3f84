import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fp from 'fastify-plugin';
import fastify, { type FastifyRequest, type RouteOptions } from 'fastify';
import fastifyJwt from '@fastify/jwt';
import type { WebSocket } from 'ws';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { ConfigError } from '../config.js';
import { AppError } from './errors.js';

/**
 * Authentication for every HTTP route and WebSocket upgrade: a bearer JWT (HS256) whose payload has
 * `sub` (who) and `role` (what they may do).
 *
 * - HTTP: `Authorization: Bearer <jwt>`. Missing/invalid/expired → 401 `{code:'unauthorized'}`;
 *   a role the route does not allow → 403 `{code:'forbidden'}`.
 * - WebSocket: the same header, or `?token=<jwt>` because browsers cannot set headers on a WS.
 *   A refused upgrade is still accepted at the protocol level and then closed at once with 1008
 *   (policy violation), so clients see a clear close code and the route handler never runs.
 * - Routes opt out with `config: { public: true }` (only /healthz and /readyz do) and restrict
 *   roles with `config: { roles: ['dispatcher', 'admin'] }`.
 * - On a refused upgrade, hooks after onRequest still run before the guard closes the socket: hooks
 *   of WebSocket routes must check `request.wsAuthFailure` before relying on `request.user`.
 */

export const ROLES = ['courier', 'store', 'customer', 'dispatcher', 'admin'] as const;
export type Role = (typeof ROLES)[number];
export interface AuthUser {
  sub: string;
  role: Role;
}

export const WS_POLICY_VIOLATION = 1008;

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: { sub: string; role: Role; [claim: string]: unknown };
    user: AuthUser;
  }
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** No token needed (health checks only). */
    public?: boolean;
    /** Roles allowed on this route; unset means any authenticated role. */
    roles?: readonly Role[];
  }
  interface FastifyRequest {
    /** Set when a WebSocket upgrade failed authentication; the socket is closed with 1008. */
    wsAuthFailure?: { code: 'unauthorized' | 'forbidden'; message: string };
  }
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

function isUpgrade(request: FastifyRequest): boolean {
  return String(request.headers.upgrade ?? '').toLowerCase() === 'websocket';
}

function extractToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return m ? m[1] : undefined;
  }
  // Query tokens only on WebSocket upgrades: on plain HTTP they would end up in caches and logs.
  if (isUpgrade(request)) {
    const q = request.query as Record<string, unknown> | undefined;
    if (typeof q?.token === 'string' && q.token !== '') return q.token;
  }
  return undefined;
}

type AuthOutcome = { ok: true } | { ok: false; status: 401 | 403; code: 'unauthorized' | 'forbidden'; message: string };

async function authenticate(request: FastifyRequest): Promise<AuthOutcome> {
  const token = extractToken(request);
  if (!token) return { ok: false, status: 401, code: 'unauthorized', message: 'Missing bearer token' };
  let payload: Record<string, unknown>;
  try {
    payload = await request.server.jwt.verify<Record<string, unknown>>(token);
  } catch (err) {
    const expired = (err as { code?: string }).code === 'FST_JWT_AUTHORIZATION_TOKEN_EXPIRED' || /expired/i.test(String(err));
    return { ok: false, status: 401, code: 'unauthorized', message: expired ? 'Token expired' : 'Invalid token' };
  }
  const { sub, role } = payload;
  if (typeof sub !== 'string' || sub === '' || !isRole(role)) {
    return { ok: false, status: 401, code: 'unauthorized', message: 'Token lacks a valid sub and role' };
  }
  request.user = { sub, role };
  const allowed = request.routeOptions.config?.roles;
  if (allowed && !allowed.includes(role)) {
    return { ok: false, status: 403, code: 'forbidden', message: `Role ${role} may not use this route` };
  }
  return { ok: true };
}

/** Wraps a WebSocket route handler so a failed upgrade closes with 1008 before the handler sees anything. */
function guardWebSocketRoute(routeOptions: RouteOptions): void {
  if (!(routeOptions as { websocket?: boolean }).websocket) return;
  const inner = routeOptions.handler as unknown as (this: unknown, socket: WebSocket, request: FastifyRequest) => unknown;
  const guarded = function (this: unknown, socket: WebSocket, request: FastifyRequest) {
    const failure = request.wsAuthFailure;
    if (failure) {
      socket.close(WS_POLICY_VIOLATION, failure.code);
      return;
    }
    return inner.call(this, socket, request);
  };
  routeOptions.handler = guarded as unknown as RouteOptions['handler'];
}

/**
 * The keys tokens are signed and verified with. Rotation without downtime: every node verifies with
 * every key of `byKid` (the token's `kid` header picks one) while exactly one key signs; `legacy`
 * (JWT_SECRET) verifies tokens that carry no `kid`, as all tokens did before JWT_KEYS existed.
 */
export interface JwtKeys {
  byKid: ReadonlyMap<string, string>;
  /** Signs new tokens (its kid goes into their header); undefined: `legacy` signs, without a kid. */
  signingKid?: string;
  legacy?: string;
}

/** JWT_KEYS / JWT_SIGNING_KID / JWT_SECRET (resolved) → the key set. */
export function jwtKeysOf(config: Pick<Config, 'jwtSecret' | 'jwtKeys' | 'jwtSigningKid'>): JwtKeys {
  const byKid = new Map((config.jwtKeys ?? []).map((k) => [k.kid, k.secret] as const));
  const signingKid = config.jwtSigningKid || (byKid.size === 1 ? [...byKid.keys()][0] : undefined);
  const keys: JwtKeys = { byKid, signingKid, legacy: config.jwtSecret || undefined };
  if (!keys.legacy && !keys.signingKid) throw new ConfigError('JWT_SECRET', 'or JWT_KEYS must be set (see resolveJwtSecret)');
  return keys;
}

class UnknownKeyError extends Error {}

/**
 * @fastify/jwt options for a key set: signing with the signing key (its kid in the header); verifying
 * through fast-jwt's key callback, which gets the decoded header and returns the key the `kid` names.
 * An unknown kid fails the verification (401), like a bad signature.
 */
function jwtOptions(keys: JwtKeys) {
  const signing = keys.signingKid ? keys.byKid.get(keys.signingKid)! : keys.legacy!;
  const keyFor = async ({ header }: { header: { kid?: unknown } }): Promise<string> => {
    const key = typeof header.kid === 'string' ? keys.byKid.get(header.kid) : keys.legacy;
    if (!key) throw new UnknownKeyError(typeof header.kid === 'string' ? 'unknown key id' : 'token without key id');
    return key;
  };
  return {
    secret: { private: signing, public: keyFor },
    sign: { algorithm: 'HS256' as const, ...(keys.signingKid ? { kid: keys.signingKid } : {}) },
    verify: { algorithms: ['HS256' as const] },
  };
}

export interface AuthPluginOptions {
  keys: JwtKeys;
}

export const authPlugin = fp<AuthPluginOptions>(
  async function auth(app, opts) {
    await app.register(fastifyJwt, jwtOptions(opts.keys));

    // Must run before @fastify/websocket's own onRoute hook, which captures the handler.
    app.addHook('onRoute', guardWebSocketRoute);

    app.addHook('onRequest', async (request, reply) => {
      if (request.routeOptions.config?.public) return;
      const outcome = await authenticate(request);
      if (outcome.ok) return;
      if (isUpgrade(request) && request.routeOptions.url !== undefined) {
        request.log.info({ code: outcome.code, url: request.routeOptions.url }, 'websocket upgrade refused');
        request.wsAuthFailure = { code: outcome.code, message: outcome.message };
        return;
      }
      return reply.code(outcome.status).send({ code: outcome.code, message: outcome.message });
    });
  },
  { name: 'dispatchd-auth', fastify: '5.x', dependencies: ['dispatchd-errors'] },
);

/** Route-level alternative to `config.roles`, for use as a preHandler. */
export function requireRole(...roles: Role[]) {
  return async function (request: FastifyRequest) {
    // A refused WebSocket upgrade has no user; the route guard closes it with 1008.
    if (request.wsAuthFailure) return;
    if (!roles.includes(request.user.role)) {
      throw new AppError(403, 'forbidden', `Role ${request.user.role} may not use this route`);
    }
  };
}

/** Signs a token outside a running app (the token CLI), with exactly the plugin's settings. */
export async function signToken(keys: JwtKeys, user: AuthUser, ttl: string | number = '1h'): Promise<string> {
  const app = fastify({ logger: false });
  await app.register(fastifyJwt, jwtOptions(keys));
  await app.ready();
  try {
    return app.jwt.sign({ sub: user.sub, role: user.role }, { expiresIn: ttl });
  } finally {
    await app.close();
  }
}

/**
 * JWT_SECRET, or for development a random secret generated once and kept in DATA_DIR/jwt-secret,
 * so `npm start` and `npm run token` agree without any setup. Logged as a warning: production
 * must set JWT_SECRET. With JWT_KEYS set there is no development secret: '' (no kid-less key) unless
 * JWT_SECRET is set too.
 */
export async function resolveJwtSecret(config: Config, log?: Logger): Promise<string> {
  if (config.jwtSecret) return config.jwtSecret;
  if (config.jwtKeys) return '';
  const file = join(config.dataDir, 'jwt-secret');
  try {
    const existing = (await readFile(file, 'utf8')).trim();
    if (existing.length >= 32) {
      log?.warn({ file }, 'JWT_SECRET not set: using the development secret from the data folder');
      return existing;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new ConfigError('JWT_SECRET', `unset and ${file} unreadable: ${String(err)}`);
  }
  const secret = randomBytes(48).toString('base64url');
  await mkdir(config.dataDir, { recursive: true });
  await writeFile(file, secret + '\n', { mode: 0o600 });
  log?.warn({ file }, 'JWT_SECRET not set: generated a development secret in the data folder (set JWT_SECRET in production)');
  return secret;
}
