/**
 * Environment → typed config. The environment is the only source (twelve-factor); there is no
 * NODE_ENV branching. Every key is declared once in `spec` below with its default and meaning,
 * and `configKeys` exposes that table so the README can be checked against it.
 */

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
  redisUrl: urlKey(
    'REDIS_URL',
    ['redis:', 'rediss:'],
    'Redis to use. Unset: Redis on 127.0.0.1:6379 if it answers, else a private redis-server under DATA_DIR.',
  ),
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
  shutdownTimeoutMs: intKey('SHUTDOWN_TIMEOUT_MS', 10_000, 'Graceful shutdown gives up and exits non-zero after this long.', {
    min: 100,
    max: 600_000,
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
  return out as Config;
}

/** Renders the README config table (used by docs and by the README test). */
export function configTableMarkdown(): string {
  const rows = configKeys.map((k) => `| \`${k.key}\` | ${k.default === undefined ? '(unset)' : `\`${k.default}\``} | ${k.description} |`);
  return ['| key | default | meaning |', '|---|---|---|', ...rows].join('\n');
}
