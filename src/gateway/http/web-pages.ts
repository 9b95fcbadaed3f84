/**
 * The browser pages, served from `dist/web` (built from `web/` by `npm run build`, or on demand by
 * `npm start`/the tests through scripts/build-web.mjs):
 * - GET /console          the dispatcher console (the page asks for a dispatcher token itself)
 * - GET /track/:token     the customer tracking page (the page reads the token from its URL)
 * - GET /web/*            their scripts and styles
 * These routes are public: the pages hold no data; every call they make carries the user's token.
 * When dist/web is missing the pages answer 503 `console_not_built` instead of a bare 404.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fp from 'fastify-plugin';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { AppError } from '../errors.js';

/** dist/web next to src/ (tsx) or inside dist/ (node dist/main.js): the same folder either way. */
export const WEB_ROOT = fileURLToPath(new URL('../../../dist/web/', import.meta.url));

export const webPages = fp(
  async function webPages(app: FastifyInstance, opts: { root?: string }) {
    const root = opts.root ?? WEB_ROOT;
    if (!existsSync(root)) app.log.warn({ root }, 'web pages not built: run `npm run build` (npm start builds them when missing)');

    await app.register(async (pages) => {
      // every route of this context is public (static assets and page shells) and not part of the API document
      pages.addHook('onRoute', (route) => {
        route.config = { ...(route.config ?? {}), public: true };
        route.schema = { ...(route.schema ?? {}), hide: true };
      });
      await pages.register(fastifyStatic, { root, prefix: '/web/', index: false, wildcard: true, cacheControl: true, maxAge: 0 });
      const page = (file: string) => async (_request: unknown, reply: FastifyReply) => {
        if (!existsSync(`${root}/${file}`)) throw new AppError(503, 'console_not_built', 'The web pages are not built: run `npm run build`');
        // the pages are small shells; always revalidate so a new build is picked up at once
        return reply.header('cache-control', 'no-cache').header('referrer-policy', 'no-referrer').sendFile(file);
      };
      pages.get('/console', page('console.html'));
      // `/console/` (a habit of typed URLs) → `/console`, keeping a `?token=`
      pages.get('/console/', async (request, reply) => reply.redirect(`/console${request.url.slice('/console/'.length)}`));
      // a wildcard, not `:token`: a JWT is longer than the router's 100-character limit on path parameters
      pages.get('/track/*', page('track.html'));
    });
  },
  { name: 'dispatchd-web-pages', fastify: '5.x', dependencies: ['dispatchd-core', 'dispatchd-auth'] },
);
