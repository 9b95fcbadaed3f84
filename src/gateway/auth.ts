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

export interface AuthPluginOptions {
  secret: string;
}

export const authPlugin = fp<AuthPluginOptions>(
  async function auth(app, opts) {
    await app.register(fastifyJwt, {
      secret: opts.secret,
      sign: { algorithm: 'HS256' },
      verify: { algorithms: ['HS256'] },
    });

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
export async function signToken(secret: string, user: AuthUser, ttl: string | number = '1h'): Promise<string> {
  const app = fastify({ logger: false });
  await app.register(fastifyJwt, { secret, sign: { algorithm: 'HS256' } });
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
 * must set JWT_SECRET.
 */
export async function resolveJwtSecret(config: Config, log?: Logger): Promise<string> {
  if (config.jwtSecret) return config.jwtSecret;
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
