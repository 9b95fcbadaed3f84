/**
 * The service's published contract without running it: builds the app on connections that never
 * connect and loads its plugins without `ready()` (whose hooks would start the background work), then
 * returns the OpenAPI document and the AsyncAPI document. Used by `npm run client:generate` and the contract tests.
 *
 *   tsx src/cli/contract-docs.ts openapi  > openapi.json
 *   tsx src/cli/contract-docs.ts asyncapi > asyncapi.json
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { pathToFileURL } from 'node:url';
import { buildApp } from '../app.js';
import { systemClock } from '../clock.js';
import { loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { buildAsyncApi } from '../gateway/ws/asyncapi.js';

export interface RouteInfo {
  method: string;
  url: string;
  websocket: boolean;
  hidden: boolean;
}

export interface ContractDocs {
  openapi: Record<string, unknown>;
  asyncapi: Record<string, unknown>;
  /** Every route the app registered (HEAD routes Fastify adds itself excluded). */
  routes: RouteInfo[];
}

/** `inspect` sees the loaded app (e.g. which courier frame types are registered) before it closes. */
export async function contractDocs(inspect?: (app: FastifyInstance) => void): Promise<ContractDocs> {
  // URLs only so plugins that check them load; nothing connects
  const config = loadConfig({ JWT_SECRET: 'contract-docs-only-not-a-real-secret', REDIS_URL: 'redis://127.0.0.1:1', DATABASE_URL: 'postgres://127.0.0.1:1/none' });
  const redis = new Redis({ lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
  const db = new pg.Pool({ max: 1 });
  const app = buildApp({ config, clock: systemClock, redis, db, log: createLogger({ level: 'silent' }) });
  // The document is complete once `ready()` ran (swagger requires it), but the service's own onReady
  // hooks start background work on Redis and Postgres: skip those, keep the libraries' own.
  const addHook = app.addHook;
  app.addHook = function (this: typeof app, name: string, fn: unknown) {
    // pluginName is the chain of plugins loaded so far; the last one is the caller
    const caller = String(this.pluginName).split(' -> ').pop() ?? '';
    if (name === 'onReady' && caller.startsWith('dispatchd-')) return this;
    return (addHook as (this: unknown, n: string, f: unknown) => typeof app).call(this, name, fn);
  } as typeof app.addHook;
  // read once loaded: hooks of inner contexts (e.g. the pages hiding themselves) run after this one
  const seen: RouteOptions[] = [];
  app.addHook('onRoute', (route) => void seen.push(route));
  const routes = () =>
    seen.flatMap((route) =>
      [route.method]
        .flat()
        .filter((method) => method !== 'HEAD')
        .map((method) => ({
          method,
          url: route.url,
          websocket: (route as { websocket?: boolean }).websocket === true,
          hidden: (route.schema as { hide?: boolean } | undefined)?.hide === true,
        })),
    );
  try {
    await app.ready();
    inspect?.(app);
    return { openapi: app.swagger() as unknown as Record<string, unknown>, asyncapi: buildAsyncApi(), routes: routes() };
  } finally {
    await app.close().catch(() => undefined);
    redis.disconnect();
    await db.end().catch(() => undefined);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const which = process.argv[2];
  if (which !== 'openapi' && which !== 'asyncapi') {
    console.error('usage: contract-docs.ts openapi|asyncapi');
    process.exit(2);
  }
  const docs = await contractDocs();
  process.stdout.write(`${JSON.stringify(docs[which], null, 2)}\n`);
  process.exit(0);
}
