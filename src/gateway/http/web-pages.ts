/**
 * The browser pages, served from `dist/web` (built from `web/` by `npm run build`, or on demand by
 * `npm start`/the tests through scripts/build-web.mjs):
 * - GET /console          the dispatcher console (the page asks for a dispatcher token itself)
 * - GET /track/:token     the customer tracking page (the page reads the token from its URL)
 * - GET /web/*            their scripts and styles
 * - GET /console/config.json  what the pages need from the config (basemap, currency, alert age)
 * - GET /tiles/basemap.pmtiles  MAP_TILES_FILE, with HTTP range requests (the browser's pmtiles reader
 *                          fetches only the byte ranges it needs)
 * These routes are public: the pages hold no data; every call they make carries the user's token.
 * When dist/web is missing the pages answer 503 `console_not_built` instead of a bare 404.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fp from 'fastify-plugin';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { AppError } from '../errors.js';

/** dist/web next to src/ (tsx) or inside dist/ (node dist/main.js): the same folder either way. */
export const WEB_ROOT = fileURLToPath(new URL('../../../dist/web/', import.meta.url));

export const TILES_PATH = '/tiles/basemap.pmtiles';

/** GET /console/config.json (web/shared/page-config.ts reads it). */
export const PageConfigSchema = Type.Object({
  mapStyleUrl: Type.Union([Type.String(), Type.Null()], { description: 'MAP_STYLE_URL, or null' }),
  tilesUrl: Type.Union([Type.String(), Type.Null()], { description: 'the served MAP_TILES_FILE, or null' }),
  currency: Type.String(),
  waitingAlertMs: Type.Integer(),
  staleAfterMs: Type.Integer(),
});
export type PageConfig = Static<typeof PageConfigSchema>;

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

      const tiles = app.config.mapTilesFile ? resolve(app.config.mapTilesFile) : '';
      if (tiles && !existsSync(tiles)) app.log.warn({ file: tiles }, 'MAP_TILES_FILE does not exist: the pages fall back to the blank map');
      const configSchema = {
        summary: 'What the web pages need from the config: basemap, currency, alert age',
        tags: ['admin'],
        response: { 200: PageConfigSchema },
      };
      pages.get('/console/config.json', { schema: configSchema }, async (_request, reply) => {
        const config: PageConfig = {
          mapStyleUrl: app.config.mapStyleUrl || null,
          tilesUrl: tiles && existsSync(tiles) ? TILES_PATH : null,
          currency: app.config.currency,
          waitingAlertMs: app.config.consoleWaitingAlertMs,
          staleAfterMs: app.config.staleAfterMs,
        };
        return reply.header('cache-control', 'no-cache').send(config);
      });
      const tilesSchema = {
        summary: 'The basemap archive (MAP_TILES_FILE, PMTiles); answers Range requests with 206',
        tags: ['admin'],
        response: {
          200: Type.String({ format: 'binary', description: 'the whole archive' }),
          206: Type.String({ format: 'binary', description: 'the requested byte range' }),
          // inline rather than errorResponses(): its $ref needs ErrorResponse added to the app, which main does not do yet
          404: Type.Object({ code: Type.String(), message: Type.String() }, { description: 'tiles_not_configured' }),
        },
      };
      pages.get(TILES_PATH, { schema: tilesSchema }, async (_request, reply) => {
        if (!tiles || !existsSync(tiles)) throw new AppError(404, 'tiles_not_configured', 'No basemap archive: set MAP_TILES_FILE to a .pmtiles file');
        // @fastify/static's send answers Range requests (206) and HEAD
        return reply.sendFile(basename(tiles), dirname(tiles), { acceptRanges: true, cacheControl: true, maxAge: 3_600_000 });
      });
    });
  },
  { name: 'dispatchd-web-pages', fastify: '5.x', dependencies: ['dispatchd-core', 'dispatchd-auth'] },
);
