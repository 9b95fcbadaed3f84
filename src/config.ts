/**
 * Environment → typed config. The environment is the only source (twelve-factor); there is no
 * NODE_ENV branching. Every key is declared once in `spec` below with its default and meaning,
 * and `configKeys` exposes that table so the README can be checked against it.
 */

import { availableParallelism } from 'node:os';
import { parseRedisUrl } from './store/redis-url.js';
import { defaultPolicy, parseOverrides, PolicyError, withOverrides } from './dispatch/policy.js';
import type { Policy } from './dispatch/types.js';

export class ConfigError extends Error {
  readonly code = 'config_invalid';
  constructor(
    readonly key: string,
    problem: string,
  ) {
    super(`${key} ${problem}`);
    this.name = 'ConfigError';
  }
}

/** One third-party carrier (CARRIERS). */
export interface CarrierConfig {
  readonly name: string;
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly webhookSecret: string;
  readonly margin: number;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

interface KeySpec<T> {
  key: string;
  /** Default as written in the environment; undefined means "unset is allowed / has a special meaning". */
  default: string | undefined;
  description: string;
  parse(raw: string | undefined): T;
}

function intKey(
  key: string,
  def: number,
  description: string,
  { min, max }: { min: number; max: number },
): KeySpec<number> {
  return {
    key,
    default: String(def),
    description,
    parse(raw) {
      if (raw === undefined || raw.trim() === '') return def;
      const s = raw.trim();
      if (!/^-?\d+$/.test(s)) throw new ConfigError(key, `must be an integer, got ${JSON.stringify(raw)}`);
      const n = Number(s);
      if (n < min || n > max) throw new ConfigError(key, `must be between ${min} and ${max}, got ${n}`);
      return n;
    },
  };
}

function numberKey(key: string, def: number, description: string, { min }: { min: number }): KeySpec<number> {
  return {
    key,
    default: String(def),
    description,
    parse(raw) {
      if (raw === undefined || raw.trim() === '') return def;
      const n = Number(raw.trim());
      if (!Number.isFinite(n)) throw new ConfigError(key, `must be a number, got ${JSON.stringify(raw)}`);
      if (n <= min) throw new ConfigError(key, `must be greater than ${min}, got ${n}`);
      return n;
    },
  };
}

function urlKey(key: string, protocols: string[], description: string): KeySpec<string | undefined> {
  return {
    key,
    default: undefined,
    description,
    parse(raw) {
      if (raw === undefined || raw.trim() === '') return undefined;
      let url: URL;
      try {
        url = new URL(raw.trim());
      } catch {
        throw new ConfigError(key, `must be a URL (${protocols.join(' or ')}), got an unparsable value`);
      }
      if (!protocols.includes(url.protocol)) {
        throw new ConfigError(key, `must use ${protocols.join(' or ')}, got ${url.protocol}`);
      }
      return raw.trim();
    },
  };
}

function stringKey(
  key: string,
  def: string,
  description: string,
  check?: (v: string) => string | undefined,
): KeySpec<string> {
  return {
    key,
    default: def,
    description,
    parse(raw) {
      const v = raw === undefined ? def : raw;
      const problem = check?.(v);
      if (problem) throw new ConfigError(key, problem);
      return v;
    },
  };
}

const spec = {
  port: intKey('PORT', 8080, 'TCP port for HTTP and WebSocket (0 picks a free port).', { min: 0, max: 65535 }),
  host: stringKey(
    'HOST',
    '127.0.0.1',
    'Interface to listen on. Loopback by default so a dev machine never exposes the service by accident; set 0.0.0.0 in containers.',
    (v) => (v.trim() === '' ? 'must not be empty' : undefined),
  ),
  // Redis Cluster (cluster feature): REDIS_URL also takes redis+cluster://host1:port1,host2:port2 (store/redis-url.ts).
  redisUrl: {
    key: 'REDIS_URL',
    default: undefined,
    description:
      'Redis to use: `redis://…` / `rediss://…` for one Redis, `redis+cluster://host1:port1,host2:port2` (or `rediss+cluster://`) for a Redis Cluster (seed nodes; docs/scaling.md). Unset: Redis on 127.0.0.1:6379 if it answers, else a private redis-server under DATA_DIR.',
    parse(raw) {
      if (raw === undefined || raw.trim() === '') return undefined;
      try {
        parseRedisUrl(raw);
      } catch (err) {
        throw new ConfigError('REDIS_URL', err instanceof Error ? err.message : String(err));
      }
      return raw.trim();
    },
  } satisfies KeySpec<string | undefined>,
  databaseUrl: urlKey(
    'DATABASE_URL',
    ['postgres:', 'postgresql:'],
    'PostgreSQL to use. Unset: Postgres on 127.0.0.1:5432 if it answers (database `dispatchd`), else a private cluster under DATA_DIR.',
  ),
  redisKeyPrefix: stringKey('REDIS_KEY_PREFIX', 'dispatchd:', 'Prefix of every Redis key, so several deployments can share one Redis.'),
  dataDir: stringKey(
    'DATA_DIR',
    '.data',
    'Folder for the embedded default (private Redis/Postgres data) and the generated dev JWT secret.',
    (v) => (v.trim() === '' ? 'must not be empty' : undefined),
  ),
  logLevel: stringKey('LOG_LEVEL', 'info', `Pino log level: ${LOG_LEVELS.join(', ')}.`, (v) =>
    LOG_LEVELS.includes(v as LogLevel) ? undefined : `must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(v)}`,
  ) as KeySpec<LogLevel>,
  logFormat: stringKey(
    'LOG_FORMAT',
    'auto',
    'Log lines as `json` (one object per line, for collectors) or `pretty` (coloured, human-readable); `auto`: pretty when stdout is a terminal, else json.',
    (v) => (v === 'auto' || v === 'json' || v === 'pretty' ? undefined : `must be auto, json or pretty, got ${JSON.stringify(v)}`),
  ) as KeySpec<'auto' | 'json' | 'pretty'>,
  localServices: stringKey(
    'LOCAL_SERVICES',
    'try',
    'With REDIS_URL / DATABASE_URL unset: `try` uses Redis and PostgreSQL on their default local ports when they answer, `skip` always starts private ones under DATA_DIR.',
    (v) => (v === 'try' || v === 'skip' ? undefined : `must be try or skip, got ${JSON.stringify(v)}`),
  ) as KeySpec<'try' | 'skip'>,
  jwtSecret: {
    key: 'JWT_SECRET',
    default: undefined,
    description:
      'HMAC secret (≥ 32 chars) for bearer JWTs. Unset: a random one is generated once into DATA_DIR/jwt-secret with a warning (dev only; set it in production).',
    parse(raw: string | undefined): string | undefined {
      if (raw === undefined || raw === '') return undefined;
      if (raw.length < 32) throw new ConfigError('JWT_SECRET', `must be at least 32 characters, got ${raw.length}`);
      return raw;
    },
  } satisfies KeySpec<string | undefined>,
  // --- JWT key rotation (issue 11)
  jwtKeys: {
    key: 'JWT_KEYS',
    default: undefined,
    description:
      'Verification keys by key id, `kid:secret,kid2:secret2` (each secret ≥ 32 chars): a token is verified with the key its `kid` header names, so keys rotate without downtime (see README, JWT key rotation). Tokens without a `kid` verify with `JWT_SECRET` only, if set.',
    parse(raw: string | undefined): ReadonlyArray<{ kid: string; secret: string }> | undefined {
      if (raw === undefined || raw.trim() === '') return undefined;
      const keys = raw.split(',').map((part) => {
        const at = part.indexOf(':');
        const kid = at > 0 ? part.slice(0, at).trim() : '';
        const secret = at > 0 ? part.slice(at + 1) : '';
        if (!/^[A-Za-z0-9._-]{1,64}$/.test(kid)) throw new ConfigError('JWT_KEYS', 'must be `kid:secret` pairs separated by commas, kid of letters, digits, `.`, `_`, `-`');
        if (secret.length < 32) throw new ConfigError('JWT_KEYS', `secret of key ${kid} must be at least 32 characters, got ${secret.length}`);
        return { kid, secret };
      });
      const dup = keys.find((k, i) => keys.findIndex((o) => o.kid === k.kid) !== i);
      if (dup) throw new ConfigError('JWT_KEYS', `lists key ${dup.kid} twice`);
      return keys;
    },
  } satisfies KeySpec<ReadonlyArray<{ kid: string; secret: string }> | undefined>,
  jwtSigningKid: {
    key: 'JWT_SIGNING_KID',
    default: undefined,
    description: 'Key id (of `JWT_KEYS`) that signs new tokens; required when `JWT_KEYS` has several keys, else its only key. Unset with `JWT_KEYS` unset: `JWT_SECRET` signs.',
    parse: (raw: string | undefined): string => raw?.trim() ?? '',
  } satisfies KeySpec<string>,
  h3Resolution: intKey('H3_RESOLUTION', 9, 'H3 resolution of the courier cell index (9 ≈ 0.1 km² cells).', { min: 0, max: 15 }),
  maxSpeedKmh: numberKey('MAX_SPEED_KMH', 250, 'A point whose implied speed from the last accepted one exceeds this is rejected.', { min: 0 }),
  maxAccuracyM: numberKey('MAX_ACCURACY_M', 100, 'Points with a worse reported accuracy (metres) are rejected.', { min: 0 }),
  maxFutureSkewMs: intKey('MAX_FUTURE_SKEW_MS', 30_000, 'Points whose device time is further ahead of server time are rejected.', {
    min: 0,
    max: 86_400_000,
  }),
  staleAfterMs: intKey('STALE_AFTER_MS', 60_000, 'A courier silent this long is stale and drops out of nearby queries.', {
    min: 1,
    max: 86_400_000,
  }),
  wsPingIntervalMs: intKey('WS_PING_INTERVAL_MS', 15_000, 'Interval of WebSocket ping heartbeats sent by the server.', {
    min: 100,
    max: 3_600_000,
  }),
  wsIdleTimeoutMs: intKey('WS_IDLE_TIMEOUT_MS', 45_000, 'A WebSocket with no frame or pong for this long is closed.', {
    min: 100,
    max: 3_600_000,
  }),
  wsMaxFrameBytes: intKey('WS_MAX_FRAME_BYTES', 262_144, 'Largest accepted WebSocket frame; larger frames are refused.', {
    min: 256,
    max: 16_777_216,
  }),
  retentionDays: intKey('RETENTION_DAYS', 30, 'Days of courier location history kept; older daily partitions are dropped.', {
    min: 1,
    max: 3650,
  }),
  historyBatchSize: intKey('HISTORY_BATCH_SIZE', 1000, 'Largest batch the history sink writes to Postgres in one COPY.', {
    min: 1,
    max: 100_000,
  }),
  historyFlushMs: intKey('HISTORY_FLUSH_MS', 200, 'Longest time the history sink waits to fill a batch.', { min: 1, max: 60_000 }),
  historyStreams: intKey(
    'HISTORY_STREAMS',
    0,
    'History streams accepted points are spread over (a courier always in the same one); 0 = automatic: 1 (`loc:stream`) on one Redis, 16 on a Redis Cluster. The sink reads every stream ever used, so changing it loses nothing (docs/scaling.md).',
    { min: 0, max: 256 },
  ),
  historyClaimIdleMs: intKey('HISTORY_CLAIM_IDLE_MS', 30_000, 'Stream entries pending this long with another history consumer (presumed dead, e.g. a killed process) are taken over and written.', {
    min: 100,
    max: 86_400_000,
  }),
  workers: {
    key: 'WORKERS',
    default: '1',
    description:
      'Service processes sharing the port (Node cluster; each is a full node, the first process supervises them). `auto`: one per CPU. One process uses at most one core for sockets.',
    parse(raw: string | undefined): number {
      const s = raw?.trim() ?? '';
      if (s === '') return 1;
      if (s === 'auto') return availableParallelism();
      if (!/^\d+$/.test(s) || Number(s) < 1 || Number(s) > 256) throw new ConfigError('WORKERS', `must be "auto" or an integer between 1 and 256, got ${JSON.stringify(raw)}`);
      return Number(s);
    },
  } satisfies KeySpec<number>,
  // --- WORKERS > 1: courier sockets rebalance after a worker is replaced (issue 11, relfix)
  workerRebalanceSpreadMs: intKey(
    'WORKER_REBALANCE_SPREAD_MS',
    10_000,
    'WORKERS > 1: after a worker is replaced, a worker above its fair share of courier sockets asks the excess to reconnect (close 1012) spread over this long, refusing new ones (1013) meanwhile; 0: no rebalancing.',
    { min: 0, max: 600_000 },
  ),
  shutdownTimeoutMs: intKey('SHUTDOWN_TIMEOUT_MS', 10_000, 'Graceful shutdown gives up and exits non-zero after this long.', {
    min: 100,
    max: 600_000,
  }),
  // --- orders, offers, tracking, webhooks (issue 4)
  promiseExpressMin: intKey('PROMISE_EXPRESS_MIN', 30, 'Promised delivery for `express` orders: minutes after placement.', { min: 1, max: 10_080 }),
  promiseStandardMin: intKey('PROMISE_STANDARD_MIN', 90, 'Promised delivery for `standard` orders: minutes after placement (`scheduled` promises its window end).', {
    min: 1,
    max: 10_080,
  }),
  serviceArea: {
    key: 'SERVICE_AREA',
    default: undefined,
    description: 'Where orders are accepted while no delivery zone is stored: a bounding box `minLat,minLng,maxLat,maxLng` that becomes the built-in `default` zone; pickups or drop-offs outside are refused (`outside_service_area`). Unset: anywhere. Stored zones (`PUT /v1/zones/:id`) replace it.',
    parse(raw: string | undefined): { minLat: number; minLng: number; maxLat: number; maxLng: number } | undefined {
      if (raw === undefined || raw.trim() === '') return undefined;
      const parts = raw.split(',').map((p) => Number(p.trim()));
      const [minLat, minLng, maxLat, maxLng] = parts;
      if (parts.length !== 4 || parts.some((n) => !Number.isFinite(n)) || !(minLat < maxLat && minLng < maxLng && minLat >= -90 && maxLat <= 90 && minLng >= -180 && maxLng <= 180)) {
        throw new ConfigError('SERVICE_AREA', `must be "minLat,minLng,maxLat,maxLng" with min < max, got ${JSON.stringify(raw)}`);
      }
      return { minLat, minLng, maxLat, maxLng };
    },
  } satisfies KeySpec<{ minLat: number; minLng: number; maxLat: number; maxLng: number } | undefined>,
  // --- delivery zones and quotes (issue 13)
  quoteTtlMs: intKey('QUOTE_TTL_MS', 300_000, 'How long a quote (`POST /v1/quotes`) can be ordered against (service-clock ms); kept in Redis twice as long (wall ms) so late orders get `quote_expired`.', {
    min: 1000,
    max: 86_400_000,
  }),
  quoteSupplyRefreshMs: intKey('QUOTE_SUPPLY_REFRESH_MS', 2000, 'Quotes price and promise from a per-node picture of couriers and open orders that is at most this old (wall ms).', {
    min: 100,
    max: 600_000,
  }),
  openPoolReconcileMs: intKey('OPEN_POOL_RECONCILE_MS', 60_000, 'How often the Redis open-order pool is compared with Postgres and repaired (orders added or removed).', {
    min: 100,
    max: 86_400_000,
  }),
  offerTtlMs: intKey('OFFER_TTL_MS', 30_000, 'How long a courier has to answer an offer; no answer counts as a rejection.', { min: 1000, max: 3_600_000 }),
  courierSpeedMps: numberKey('COURIER_SPEED_MPS', 4.5, 'Courier speed (m/s) of the haversine travel model used for ETAs (same model as the optimizer).', { min: 0 }),
  pickupServiceS: intKey('PICKUP_SERVICE_S', 240, 'Seconds a courier spends at a pickup (half before, half after the pickup instant).', { min: 0, max: 7200 }),
  dropoffServiceS: intKey('DROPOFF_SERVICE_S', 240, 'Seconds a courier spends at a drop-off (half before, half after the hand-over).', { min: 0, max: 7200 }),
  geofenceRadiusM: numberKey('GEOFENCE_RADIUS_M', 60, 'Automatic arrival: the courier must be within this many metres of the stop…', { min: 0 }),
  geofenceExitRadiusM: numberKey('GEOFENCE_EXIT_RADIUS_M', 100, '…and a dwell only breaks beyond this radius (hysteresis band against a jittery track).', { min: 0 }),
  geofenceDwellMs: intKey('GEOFENCE_DWELL_MS', 20_000, '…for this long…', { min: 0, max: 3_600_000 }),
  geofenceMaxAccuracyM: numberKey('GEOFENCE_MAX_ACCURACY_M', 40, '…counting only fixes at least this accurate (metres).', { min: 0 }),
  trackingTokenTtlMs: intKey('TRACKING_TOKEN_TTL_MS', 21_600_000, 'Lifetime of a customer tracking token.', { min: 1000, max: 604_800_000 }),
  trackingGraceMs: intKey('TRACKING_GRACE_MS', 600_000, 'A tracking token stops working this long after its order ends (delivered, cancelled, returned, failed).', {
    min: 0,
    max: 86_400_000,
  }),
  trackingBaseUrl: stringKey('TRACKING_BASE_URL', '', 'Public base URL put in front of tracking links (empty: links are relative, e.g. `/track/…`).'),
  webhookRetryForMs: intKey('WEBHOOK_RETRY_FOR_MS', 86_400_000, 'Failing webhook deliveries are retried (exponential backoff with jitter) for this long, then given up.', {
    min: 1000,
    max: 2_592_000_000,
  }),
  webhookBackoffBaseMs: intKey('WEBHOOK_BACKOFF_BASE_MS', 1000, 'First retry delay of a failing webhook; doubles per attempt.', { min: 1, max: 3_600_000 }),
  webhookBackoffMaxMs: intKey('WEBHOOK_BACKOFF_MAX_MS', 300_000, 'Longest delay between two webhook attempts.', { min: 1, max: 86_400_000 }),
  webhookTimeoutMs: intKey('WEBHOOK_TIMEOUT_MS', 5000, 'A webhook POST not answered within this is a failure.', { min: 100, max: 120_000 }),
  webhookSender: stringKey('WEBHOOK_SENDER', 'on', 'Run the webhook sender in this process (`on`/`off`; several processes may run it safely).', (v) =>
    v === 'on' || v === 'off' ? undefined : `must be on or off, got ${JSON.stringify(v)}`,
  ) as KeySpec<'on' | 'off'>,
  webhookPollMs: intKey('WEBHOOK_POLL_MS', 250, 'How often the webhook sender looks for due deliveries.', { min: 10, max: 60_000 }),
  webhookAllowPrivate: {
    key: 'WEBHOOK_ALLOW_PRIVATE',
    default: 'false',
    description:
      'Allow webhook URLs on loopback, private, link-local (cloud metadata) and other internal addresses (`true`/`false`). Off: such URLs are refused with `webhook_target_forbidden` (SSRF); turn on only for tests or receivers on a trusted private network.',
    parse(raw: string | undefined): boolean {
      const v = (raw ?? 'false').trim().toLowerCase();
      if (v === 'true' || v === '1') return true;
      if (v === 'false' || v === '0' || v === '') return false;
      throw new ConfigError('WEBHOOK_ALLOW_PRIVATE', `must be true or false, got ${JSON.stringify(raw)}`);
    },
  } satisfies KeySpec<boolean>,
  // --- hybrid fleet: third-party carriers (issue 13)
  carriers: {
    key: 'CARRIERS',
    default: undefined,
    description:
      'Third-party carriers, a JSON array of `{"name", "baseUrl", "apiKey", "webhookSecret", "margin"?}` (the API of docs/carrier-api.md; `name` is what zones name in `carrier`, `[a-z0-9_-]`; `margin` default 0.2: the carrier wins on cost only when own cost > quote × (1 + margin)). Unset: no carriers.',
    parse(raw: string | undefined): CarrierConfig[] {
      if (raw === undefined || raw.trim() === '') return [];
      let list: unknown;
      try {
        list = JSON.parse(raw);
      } catch {
        throw new ConfigError('CARRIERS', 'must be a JSON array');
      }
      if (!Array.isArray(list)) throw new ConfigError('CARRIERS', 'must be a JSON array');
      const names = new Set<string>();
      return list.map((c: Record<string, unknown>, i) => {
        const name = String(c?.name ?? '');
        if (!/^[a-z0-9_-]{1,64}$/.test(name) || name === 'own') throw new ConfigError('CARRIERS', `[${i}].name must match [a-z0-9_-]{1,64} and not be "own", got ${JSON.stringify(c?.name)}`);
        if (names.has(name)) throw new ConfigError('CARRIERS', `[${i}].name ${name} is given twice`);
        names.add(name);
        const baseUrl = String(c.baseUrl ?? '');
        if (!/^https?:\/\/\S+$/.test(baseUrl)) throw new ConfigError('CARRIERS', `[${i}].baseUrl must be an http(s) URL`);
        const apiKey = String(c.apiKey ?? '');
        const webhookSecret = String(c.webhookSecret ?? '');
        if (!apiKey) throw new ConfigError('CARRIERS', `[${i}].apiKey is required`);
        if (webhookSecret.length < 16) throw new ConfigError('CARRIERS', `[${i}].webhookSecret must have at least 16 characters`);
        const margin = c.margin === undefined ? 0.2 : Number(c.margin);
        if (!Number.isFinite(margin) || margin < 0) throw new ConfigError('CARRIERS', `[${i}].margin must be a number ≥ 0`);
        return { name, baseUrl: baseUrl.replace(/\/$/, ''), apiKey, webhookSecret, margin };
      });
    },
  } satisfies KeySpec<CarrierConfig[]>,
  carrierWebhookBaseUrl: stringKey(
    'CARRIER_WEBHOOK_BASE_URL',
    '',
    'Base URL carriers reach this service at: their webhooks go to `<base>/v1/carriers/<name>/webhooks` (empty: `http://HOST:PORT` as listening).',
  ),
  carrierOwnCostPerHour: numberKey('CARRIER_OWN_COST_PER_HOUR', 15, 'Cost of one own courier hour in the carriers’ currency units: own cost of an order = its courier seconds × this, compared with the carrier quote (fleet policy).', {
    min: 0,
  }),
  carrierTimeoutMs: intKey('CARRIER_TIMEOUT_MS', 3000, 'A carrier API call (quote, create, cancel) not answered within this fails (wall ms).', { min: 100, max: 60_000 }),
  // --- metrics (issue 5)
  metricsPublic: {
    key: 'METRICS_PUBLIC',
    default: 'false',
    description:
      'Serve `GET /metrics` without a token (`true`/`false`). Off: it needs a dispatcher or admin bearer token; turn on only where the port is reachable by the scraper alone.',
    parse(raw: string | undefined): boolean {
      const v = (raw ?? 'false').trim().toLowerCase();
      if (v === 'true' || v === '1') return true;
      if (v === 'false' || v === '0' || v === '') return false;
      throw new ConfigError('METRICS_PUBLIC', `must be true or false, got ${JSON.stringify(raw)}`);
    },
  } satisfies KeySpec<boolean>,
  // --- dispatch loop, courier availability, service clock (issue 5, H1)
  dispatch: stringKey('DISPATCH', 'on', 'Run the dispatch loop in this process (`on`/`off`; several processes may run it: a lease per zone keeps one round at a time).', (v) =>
    v === 'on' || v === 'off' ? undefined : `must be on or off, got ${JSON.stringify(v)}`,
  ) as KeySpec<'on' | 'off'>,
  dispatchIntervalMs: intKey('DISPATCH_INTERVAL_MS', 60_000, 'Service-clock ms between two dispatch rounds of a zone.', { min: 10, max: 86_400_000 }),
  dispatchDebounceMs: intKey('DISPATCH_DEBOUNCE_MS', 2000, 'A round of a zone runs this many service-clock ms after a new or ready order there (bursts are collected into one round).', {
    min: 0,
    max: 3_600_000,
  }),
  dispatchZoneResolution: intKey('DISPATCH_ZONE_RESOLUTION', 5, 'H3 resolution of dispatch zones (one round and one lease per zone); must be ≤ H3_RESOLUTION.', { min: 0, max: 15 }),
  dispatchRoundBudgetMs: intKey('DISPATCH_ROUND_BUDGET_MS', 500, 'Wall-clock ms the optimizer may spend on one round; a longer solve is cut short and logged.', { min: 1, max: 600_000 }),
  dispatchPolicy: {
    key: 'DISPATCH_POLICY',
    default: undefined,
    description:
      'Optimizer policy overrides, comma-separated `key=value` (keys and meanings: docs/optimizer.md), e.g. `readySpareQuantile=0` to send couriers who are idle anyway early to food whose ready time is uncertain. Unset: the defaults. The round budget is DISPATCH_ROUND_BUDGET_MS, not `maxMs` here.',
    parse(raw) {
      if (raw === undefined || raw.trim() === '') return defaultPolicy;
      try {
        const pairs = raw.split(',').map((p) => p.trim()).filter((p) => p !== '');
        const overrides = parseOverrides(pairs);
        // an operator's typo must not silently lose to a later pair
        if (Object.keys(overrides).length < pairs.length) throw new ConfigError('DISPATCH_POLICY', `names a key twice: ${JSON.stringify(raw)}`);
        if ('maxMs' in overrides) throw new ConfigError('DISPATCH_POLICY', 'must not set maxMs: the round budget is DISPATCH_ROUND_BUDGET_MS');
        // resolved (and so refused on an unknown key or a bad value) at start-up, not in the first round
        return withOverrides(defaultPolicy, overrides);
      } catch (err) {
        if (err instanceof PolicyError) throw new ConfigError('DISPATCH_POLICY', `is invalid: ${err.message}`);
        throw err;
      }
    },
  } satisfies KeySpec<Policy>,
  courierCapacity: intKey('COURIER_CAPACITY', 4, 'Capacity units (order size) a courier carries at once unless its `shift` frame says otherwise.', { min: 1, max: 1000 }),
  clockSpeed: numberKey('CLOCK_SPEED', 1, 'Service clock speed: N runs every timer (rounds, offer expiry, staleness, tracking grace) N times faster than the wall clock (replays, demos).', { min: 0 }),
  clockStart: {
    key: 'CLOCK_START',
    default: undefined,
    description: 'Service clock start, as an ISO 8601 time or epoch ms (replays). Unset: now.',
    parse(raw: string | undefined): number | undefined {
      if (raw === undefined || raw.trim() === '') return undefined;
      const s = raw.trim();
      const ms = /^-?\d+$/.test(s) ? Number(s) : Date.parse(s);
      if (!Number.isFinite(ms) || ms < 0) throw new ConfigError('CLOCK_START', `must be an ISO 8601 time or epoch ms, got ${JSON.stringify(raw)}`);
      return ms;
    },
  } satisfies KeySpec<number | undefined>,
  // --- dispatcher console (issue 10)
  mapStyleUrl: stringKey('MAP_STYLE_URL', '', 'Console basemap: URL of any MapLibre style (empty: the blank offline style, or MAP_TILES_FILE when set).'),
  mapTilesFile: stringKey('MAP_TILES_FILE', '', 'A local `.pmtiles` vector archive (Protomaps schema) the service serves itself at `/tiles/basemap.pmtiles` (HTTP range requests) and the console draws as streets; empty: none.'),
  currency: stringKey('CURRENCY', 'USD', 'ISO 4217 currency the console shows money in (formatted by the browser through `Intl`).', (v) =>
    /^[A-Z]{3}$/.test(v) ? undefined : `must be a three-letter ISO 4217 code such as USD, got ${JSON.stringify(v)}`,
  ),
  consoleWaitingAlertMs: intKey('CONSOLE_WAITING_ALERT_MS', 600_000, 'The console raises an alert for an order still waiting for a courier this long after placement (service clock).', {
    min: 1000,
    max: 86_400_000,
  }),
  // --- HTTP write rate limit (H6)
  rateLimitPerMin: intKey('RATE_LIMIT_PER_MIN', 1200, 'HTTP writes (POST/PUT/PATCH/DELETE) one caller (JWT subject, else IP) may send per minute, counted in Redis across all nodes; over it: 429 `rate_limited`. `0` disables the limit.', {
    min: 0,
    max: 10_000_000,
  }),
  // --- overload shedding (issue 11): each limit off at 0
  overloadMaxEventLoopDelayMs: intKey('OVERLOAD_MAX_EVENT_LOOP_DELAY_MS', 40, 'Overloaded while the mean event-loop delay (over OVERLOAD_SAMPLE_MS, above the 10 ms sampling resolution) exceeds this: HTTP writes get 503 `overloaded`, location frames an `overloaded` answer, new WebSockets close 1013. `0`: off.', {
    min: 0,
    max: 60_000,
  }),
  overloadMaxElu: {
    key: 'OVERLOAD_MAX_ELU',
    default: '0',
    description: 'Overloaded while the event-loop utilisation (0–1, over OVERLOAD_SAMPLE_MS) exceeds this. `0`: off.',
    parse(raw: string | undefined): number {
      if (raw === undefined || raw.trim() === '') return 0;
      const n = Number(raw.trim());
      if (!Number.isFinite(n) || n < 0 || n > 1) throw new ConfigError('OVERLOAD_MAX_ELU', `must be a number from 0 to 1, got ${JSON.stringify(raw)}`);
      return n;
    },
  } satisfies KeySpec<number>,
  overloadMaxHeapMb: intKey('OVERLOAD_MAX_HEAP_MB', 2048, 'Overloaded while the V8 heap in use exceeds this many MB. `0`: off.', { min: 0, max: 1_048_576 }),
  overloadMaxFlushBacklog: intKey('OVERLOAD_MAX_FLUSH_BACKLOG', 50_000, 'Overloaded while more location points than this are accepted but not yet written to Redis (buffered or in flight). `0`: off.', {
    min: 0,
    max: 100_000_000,
  }),
  overloadSampleMs: intKey('OVERLOAD_SAMPLE_MS', 100, 'How often event-loop delay, utilisation and heap are sampled for the overload limits (wall ms).', { min: 10, max: 60_000 }),
  overloadRetryAfterMs: intKey('OVERLOAD_RETRY_AFTER_MS', 1000, 'What a shed client is told to wait: `retryAfterMs` of the `overloaded` frame, `Retry-After` (rounded up to whole seconds) of the 503.', {
    min: 1,
    max: 3_600_000,
  }),
  // --- learned prep times and calibrated travel times (issue 14, prepsvc)
  prepMinSamples: intKey('PREP_MIN_SAMPLES', 5, 'A store\'s learned prep time (placement → ready) is used for its orders not yet ready once it has this many ready orders in its history; below, the store\'s estimate (or placement) as before.', {
    min: 1,
    max: 100_000,
  }),
  prepHistoryDays: intKey('PREP_HISTORY_DAYS', 28, 'Days of `ready` history (by placement time) the prep-time model learns from at each refresh.', { min: 1, max: 365 }),
  prepRefreshMs: intKey('PREP_REFRESH_MS', 600_000, 'How often the prep-time model is rebuilt from Postgres (service-clock ms); between refreshes it learns online from each order that becomes ready on this node.', {
    min: 1000,
    max: 86_400_000,
  }),
  travelCalibrationDays: intKey('TRAVEL_CALIBRATION_DAYS', 3, 'Days of courier trails (courier_positions) the calibrated travel model learns speed and detour factors from; `0`: off (the plain haversine model at COURIER_SPEED_MPS).', {
    min: 0,
    max: 365,
  }),
  travelRefreshMs: intKey('TRAVEL_REFRESH_MS', 3_600_000, 'How often the travel calibration is rebuilt from the trails in Postgres (service-clock ms).', { min: 1000, max: 86_400_000 }),
  travelMinSamples: intKey('TRAVEL_MIN_SAMPLES', 20, 'Moving legs a zone (or a zone and hour) needs before it gets factors of its own; below, the next coarser level (all zones, then COURIER_SPEED_MPS with TRAVEL_PRIOR_DETOUR).', {
    min: 1,
    max: 1_000_000,
  }),
  travelPriorDetour: numberKey('TRAVEL_PRIOR_DETOUR', 1.3, 'Prior detour factor (distance over ground / straight line) before trails say otherwise; with COURIER_SPEED_MPS as the prior straight-line speed.', { min: 0 }),
  // --- assignment updates (issue 14, reassign): src/dispatch/reassign.ts
  reassign: stringKey(
    'REASSIGN',
    'on',
    'Assignment updates: a dispatch round may move an order that is assigned but not reached yet to a better courier (offered; must accept) when its ready estimate changed (`on`/`off`).',
    (v) => (v === 'on' || v === 'off' ? undefined : `must be on or off, got ${JSON.stringify(v)}`),
  ) as KeySpec<'on' | 'off'>,
  reassignReadyChangeS: intKey('REASSIGN_READY_CHANGE_S', 300, 'Assignment updates: only orders whose ready estimate moved by at least this many seconds (earlier or later) since their courier was chosen are looked at.', {
    min: 0,
    max: 86_400,
  }),
  reassignMinGainS: intKey('REASSIGN_MIN_GAIN_S', 300, 'Assignment updates: another courier must beat the current one by at least this many seconds of click-to-door (the optimizer\'s score, time-vs-cost knob included).', {
    min: 0,
    max: 86_400,
  }),
  reassignNearStoreS: intKey('REASSIGN_NEAR_STORE_S', 180, 'Assignment updates: never move an order whose courier is within this many seconds of travel of the store (or already there).', {
    min: 0,
    max: 86_400,
  }),
  reassignMaxMoves: intKey('REASSIGN_MAX_MOVES', 1, 'Assignment updates: at most this many automatic moves per order.', { min: 0, max: 100 }),
  reassignCooldownS: intKey('REASSIGN_COOLDOWN_S', 600, 'Assignment updates: no automatic move of an order sooner than this many seconds after its last one.', { min: 0, max: 86_400 }),
  prepUtcOffsetMin: intKey('PREP_UTC_OFFSET_MIN', 0, 'Local time of the stores = UTC + this many minutes: prep times (and travel calibration) are bucketed by local hour of day.', {
    min: -720,
    max: 840,
  }),
} satisfies Record<string, KeySpec<unknown>>;

type Spec = typeof spec;
export type Config = { readonly [K in keyof Spec]: ReturnType<Spec[K]['parse']> };

/** The documented table of every key: README.md must mention each (a unit test checks it). */
export const configKeys: ReadonlyArray<{ key: string; default: string | undefined; description: string }> = Object.values(
  spec,
).map(({ key, default: def, description }) => ({ key, default: def, description }));

/** Parses the environment; throws ConfigError naming the first bad key. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const out: Record<string, unknown> = {};
  for (const [field, s] of Object.entries(spec) as [keyof Spec, KeySpec<unknown>][]) {
    out[field] = s.parse(env[s.key]);
  }
  if ((out.dispatchZoneResolution as number) > (out.h3Resolution as number)) {
    throw new ConfigError('DISPATCH_ZONE_RESOLUTION', `must be ≤ H3_RESOLUTION (${String(out.h3Resolution)}), got ${String(out.dispatchZoneResolution)}`);
  }
  const keys = out.jwtKeys as ReadonlyArray<{ kid: string }> | undefined;
  const signingKid = out.jwtSigningKid as string;
  if (signingKid !== '' && !keys?.some((k) => k.kid === signingKid)) {
    throw new ConfigError('JWT_SIGNING_KID', `must name a key of JWT_KEYS, got ${JSON.stringify(signingKid)}`);
  }
  if (keys && keys.length > 1 && signingKid === '') throw new ConfigError('JWT_SIGNING_KID', 'must be set when JWT_KEYS has several keys');
  return out as Config;
}

/** Renders the README config table (used by docs and by the README test). */
export function configTableMarkdown(): string {
  const rows = configKeys.map((k) => `| \`${k.key}\` | ${k.default === undefined ? '(unset)' : `\`${k.default}\``} | ${k.description} |`);
  return ['| key | default | meaning |', '|---|---|---|', ...rows].join('\n');
}
