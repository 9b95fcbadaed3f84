/**
 * `npm run demo [-- --instance DIR] [--speed N] [--centre LAT,LNG] [--from MINUTE] [--port P] [--carrier]`
 *
 * The service on its embedded default (Redis and PostgreSQL as `npm start` finds or starts them; a
 * fresh database and key prefix for this demo, dropped at exit) plus a simulated city: an MDRP day
 * projected around a city centre, stores placing and readying orders over HTTP, couriers driving their
 * routes and streaming positions over the courier socket every second of service time, all on a clock
 * N times faster than the wall clock (default 10). Prints the console URL and, once the first orders are
 * placed, tracking page URLs for them; runs until Ctrl-C.
 * `--carrier`: also a third-party carrier (the simulator of `npm run carrier:sim`, in this process, on the
 * demo clock) and a zone over the city that allows it, so orders no own courier can serve in time are
 * handed to it (hybrid fleet: decision `carrier` in the console and `GET /v1/orders/:id/dispatch`).
 * Default instance: the half-size Grubhub day 0o50t100s1p100 from the MDRP instances folder ($MDRP_DATA or
 * data/mdrp, see sim/mdrp/data-dir.ts) if present, else the bundled synthetic one (test/fixtures/mdrp/synthetic).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { resolveJwtSecret } from '../gateway/auth.js';
import { createLogger } from '../logger.js';
import { defaultMdrpDir, requireInstanceDir } from '../sim/mdrp/data-dir.js';
import { readInstance } from '../sim/mdrp/instance.js';
import { parseCentre, projectInstance } from '../sim/live/projection.js';
import { runLiveReplay } from '../sim/live/replay.js';
import { firstTrackingLinks } from '../sim/live/tracking-links.js';
import { ReplayClock } from '../sim/live/replay-clock.js';
import { instanceEnv, startLiveService } from '../sim/live/service.js';
import { midnightUtc, timelineFrom } from '../sim/live/timeline.js';
import { CarrierSimulator } from '../sim/carrier/simulator.js';
import { seededRandom } from '../domain/random.js';
import { defaultZone } from '../runtime/zones.js';

const USAGE = 'usage: npm run demo [-- --instance DIR] [--speed N] [--centre LAT,LNG] [--from MINUTE] [--port P] [--map-tiles FILE.pmtiles] [--carrier]';
/** Half side of the demo's carrier zone around the city centre, degrees. */
const CARRIER_ZONE_DEG = 0.35;
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const GRUBHUB_DEFAULT = join(defaultMdrpDir(), '0o50t100s1p100');
const BUNDLED_DEFAULT = join(repoRoot, 'test/fixtures/mdrp/synthetic');
/** Tracking page URLs printed for the first orders. */
const TRACKING_LINKS = 3;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      instance: { type: 'string' },
      speed: { type: 'string', default: '10' },
      centre: { type: 'string' },
      from: { type: 'string' },
      port: { type: 'string' },
      'map-tiles': { type: 'string' },
      carrier: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return void console.log(USAGE);
  const speed = Number(values.speed);
  if (!(speed > 0 && speed <= 1000)) throw new Error(`--speed must be a number in (0, 1000], got ${values.speed}`);
  const instanceDir = values.instance ? resolve(values.instance) : existsSync(join(GRUBHUB_DEFAULT, 'orders.txt')) ? GRUBHUB_DEFAULT : BUNDLED_DEFAULT;
  requireInstanceDir(instanceDir);
  const instance = readInstance(instanceDir);
  const centre = values.centre ? parseCentre(values.centre) : undefined;
  // a basemap for the console: the same as MAP_TILES_FILE, checked here so a typo fails before anything starts
  const mapTiles = values['map-tiles'] ? resolve(values['map-tiles']) : undefined;
  if (mapTiles && !existsSync(mapTiles)) throw new Error(`--map-tiles: no file at ${mapTiles}`);
  const firstOrder = Math.min(...instance.orders.map((o) => o.placementTime));
  const from = values.from === undefined ? Math.max(0, firstOrder - 5) : Number(values.from);
  if (!Number.isInteger(from) || from < 0) throw new Error(`--from must be a whole minute ≥ 0, got ${values.from}`);

  const config = loadConfig();
  const log = createLogger({ level: process.env.LOG_LEVEL ? config.logLevel : 'warn', name: 'demo', format: config.logFormat });
  const timeline = timelineFrom(midnightUtc(Date.now()));
  const clock = new ReplayClock(timeline.toMs(from), speed);
  const port = values.port === undefined ? config.port : Number(values.port);
  // the development secret, so `npm run token` mints tokens this demo accepts
  const jwtSecret = await resolveJwtSecret(config, log);
  const env: NodeJS.ProcessEnv = { ...process.env, JWT_SECRET: jwtSecret, ...instanceEnv(instance.params), ...(mapTiles ? { MAP_TILES_FILE: mapTiles } : {}) };
  // hybrid fleet: a simulated carrier on the demo clock, speaking the carrier API over HTTP
  let carrier: { sim: CarrierSimulator; url: string } | undefined;
  if (values.carrier) {
    const apiKey = randomBytes(12).toString('hex');
    const webhookSecret = randomBytes(24).toString('hex');
    const sim = new CarrierSimulator({
      clock,
      name: 'simcarrier',
      apiKey,
      webhookSecret,
      currency: 'EUR',
      priceBase: 4,
      pricePerKm: 1.2,
      speedMps: instance.params.metersPerMinute / 60,
      failureRate: 0.05,
      positionEveryMs: 10_000,
      random: seededRandom(1),
    });
    carrier = { sim, url: await sim.listen(0) };
    env.CARRIERS = JSON.stringify([{ name: 'simcarrier', baseUrl: carrier.url, apiKey, webhookSecret, margin: 0.2 }]);
  }
  // A signal while the service starts (private Redis/PostgreSQL may be starting) is answered once it is up,
  // so nothing started here outlives the demo.
  let early: NodeJS.Signals | undefined;
  const remember = (sig: NodeJS.Signals) => (early = sig);
  process.on('SIGINT', remember).on('SIGTERM', remember);
  const service = await startLiveService({ clock, log, env, name: 'dispatchd_demo', port, host: config.host }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EADDRINUSE') throw err;
    console.log(`port ${port} is busy: using a free one`);
    return startLiveService({ clock, log, env, name: 'dispatchd_demo', port: 0, host: config.host });
  });

  const abort = new AbortController();
  let replay: ReturnType<typeof runLiveReplay> | undefined;
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) process.exit(1);
    stopping = true;
    abort.abort();
    console.log('\nstopping the demo…');
    await replay?.catch(() => undefined);
    await service.stop();
    await carrier?.sim.close();
    process.exit(code);
  };
  process.off('SIGINT', remember).off('SIGTERM', remember);
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  if (early) return void stop(0);

  const dispatcher = service.token('dispatcher', 'demo', '7d');
  console.log(`dispatchd demo: ${instance.name} (${instance.orders.length} orders, ${instance.couriers.length} couriers) at ×${speed}, from minute ${from}`);
  console.log(`console:  ${service.baseUrl}/console?token=${dispatcher}`);
  console.log(`API:      ${service.baseUrl}  (Authorization: Bearer <token>, e.g. the dispatcher token above)`);
  console.log(`data:     database ${service.databaseUrl.split('/').pop()}, Redis keys ${service.keyPrefix}* (removed at exit)`);
  console.log('Ctrl-C stops the demo.');

  if (carrier) {
    // one zone over the city that allows the carrier, sold like the default zone
    const c = projectInstance(instance, centre).centre;
    const d = CARRIER_ZONE_DEG;
    const ring = [[c.lng - d, c.lat - d], [c.lng + d, c.lat - d], [c.lng + d, c.lat + d], [c.lng - d, c.lat + d], [c.lng - d, c.lat - d]];
    const cfg = loadConfig(env);
    const settings = { ...defaultZone({ serviceArea: undefined, promiseExpressMin: cfg.promiseExpressMin, promiseStandardMin: cfg.promiseStandardMin }).settings, name: 'demo city', fleet: 'both', carrier: 'simcarrier' };
    const put = () =>
      fetch(`${service.baseUrl}/v1/zones/demo-city`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${service.token('admin', 'demo', '7d')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ geometry: { type: 'Polygon', coordinates: [ring] }, settings }),
      });
    let res = await put();
    // a service still warming up may shed writes (503 overloaded): ask again
    for (let i = 0; i < 10 && res.status === 503; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      res = await put();
    }
    if (!res.ok) throw new Error(`demo carrier zone refused: ${res.status} ${await res.text()}`);
    console.log(`carrier:  simcarrier (simulator at ${carrier.url}); orders no own courier can serve in time go to it (decision "carrier")`);
  }
  clock.start();
  let lastLine = 0;
  replay = runLiveReplay({
    instance,
    baseUrl: service.baseUrl,
    wsUrl: service.wsUrl,
    clock,
    token: (role, sub) => service.token(role, sub, '7d'),
    timeline,
    projection: projectInstance(instance, centre),
    readyKnown: true,
    positionEveryS: 1,
    log,
    signal: abort.signal,
    pollMs: 1000,
    onProgress: (p) => {
      if (Date.now() - lastLine < 30_000) return;
      lastLine = Date.now();
      const hh = String(Math.floor(p.minute / 60) % 24).padStart(2, '0');
      const mm = String(Math.floor(p.minute % 60)).padStart(2, '0');
      console.log(`${hh}:${mm} service time | placed ${p.placed} | delivered ${p.delivered} | couriers online ${p.couriersOnline}`);
    },
  });
  void firstTrackingLinks({
    baseUrl: service.baseUrl,
    listToken: dispatcher,
    storeToken: (storeId) => service.token('store', storeId, '7d'),
    count: TRACKING_LINKS,
    signal: abort.signal,
  })
    .then((links) => {
      for (const l of links) console.log(`track:    ${l.pageUrl}  (order ${l.externalId})`);
      if (links.length) console.log('          any order: POST /v1/orders/<id>/tracking-link with its store token (README, "Demo and live replay")');
    })
    .catch((err: Error) => {
      if (!abort.signal.aborted) console.log(`no tracking links: ${err.message}`);
    });
  const done = await replay;
  if (!done.aborted) {
    console.log(`the day is over: ${done.result.outcomes.size}/${instance.orders.length} delivered. The service keeps running; Ctrl-C stops it.`);
  }
}

main().catch((err: Error) => {
  console.error(`demo failed: ${err.message}`);
  process.exit(1);
});
