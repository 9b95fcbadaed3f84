/**
 * Location ingest benchmark (not a test):
 *
 *   npm run bench:ingest -- --couriers 2000 --hz 20 --seconds 30 --json out/ingest.json [--url http://host:port]
 *
 * Starts the service (built with tsc first, as deployed; `--service source` runs it through tsx;
 * `--service-workers N` sets its WORKERS) in its own process on a fresh database and Redis key prefix (or targets --url, then
 * JWT_SECRET and DATABASE_URL must be those of that service), connects N couriers over real WebSockets
 * from separate worker processes (load/ws-couriers.ts), streams for S seconds, waits for every ack and for
 * the history sink to drain, then measures the Redis baseline: the same number of index updates written
 * straight to Redis with ioredis pipelines. Writes the figures as JSON and prints them.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SingleBar, Presets } from 'cli-progress';
import fastify from 'fastify';
import fastifyJwt from '@fastify/jwt';
import { Redis } from 'ioredis';
import pg from 'pg';
import { cellOf } from '../src/domain/geo.js';
import { dropDatabase } from '../src/store/pg/pool.js';
import { closeRedis, connectRedis, deleteKeysWithPrefix, isCluster, masterNodes } from '../src/store/redis/client.js';
import { startPrivateRedis, type PrivateService } from '../src/store/embedded/redis.js';
import { startPrivateRedisCluster } from '../src/store/embedded/redis-cluster.js';
import { courierKey, LOCATION_STREAM, packPoints, type StoredPoint } from '../src/store/redis/location-index.js';
import { postgresCpuSeconds, statCpuSeconds } from './proc-cpu.js';
import { BUCKET_MS, BUCKETS } from './ws-couriers-histogram.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const { values: args } = parseArgs({
  options: {
    couriers: { type: 'string', default: '2000' },
    hz: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '30' },
    json: { type: 'string' },
    url: { type: 'string' },
    workers: { type: 'string', default: '1' },
    'baseline-batch': { type: 'string', default: '500' },
    profile: { type: 'string' },
    'history-batch': { type: 'string', default: '5000' },
    // Extra V8/Node flags for the service process, e.g. "--max-semi-space-size=64".
    // A larger young generation: most per-frame objects die young; measured ~40 % less GC time.
    'service-flags': { type: 'string', default: '--max-semi-space-size=64' },
    // What a deployment runs: the tsc output (built first). "source" runs src/ through tsx instead.
    service: { type: 'string', default: 'dist' },
    // WORKERS of the service (processes sharing the port); the service's own default is 1.
    'service-workers': { type: 'string', default: '1' },
    // Steps the offered rate (points/s) on one set of sockets and reports the knee (see findKnee).
    'find-knee': { type: 'boolean', default: false },
    rates: { type: 'string', default: '5000,10000,15000,20000,25000,30000,40000,50000,60000' },
    'step-seconds': { type: 'string', default: '15' },
    // --find-knee: seconds at the first rate before the first measured step (JIT warm-up, sockets settling), not reported.
    'warmup-seconds': { type: 'string', default: '5' },
    // Twice the knee (or --rate) for --seconds (default 60): latency of accepted points, shed rate, RSS over time.
    'overload-test': { type: 'boolean', default: false },
    knee: { type: 'string' },
    rate: { type: 'string' },
    // Extra environment for the service, e.g. "OVERLOAD_MAX_EVENT_LOOP_DELAY_MS=30 OVERLOAD_SAMPLE_MS=50".
    'service-env': { type: 'string', default: '' },
    // Run dist/ as it is (already built with `npx tsc -p tsconfig.build.json`): keeps a quiet window short.
    'skip-build': { type: 'boolean', default: false },
    // Redis for the run, started here and stopped after: a private Redis Cluster (--redis-masters masters,
    // no replicas) or one private redis-server (no AOF, like the cluster's nodes), instead of REDIS_URL.
    // Either way every step reports each node's Redis CPU (INFO cpu) per accepted update.
    'redis-cluster': { type: 'boolean', default: false },
    'redis-private': { type: 'boolean', default: false },
    'redis-masters': { type: 'string', default: '3' },
    // The generator's WebSocket client: "lean" (load/lean-ws.ts, one Buffer and one write per frame) or "ws".
    generator: { type: 'string', default: 'lean' },
  },
  strict: true,
});

const couriers = Number(args.couriers);
const hz = Number(args.hz);
const seconds = Number(args.seconds);
const workers = Math.max(1, Number(args.workers));
const baselineBatch = Number(args['baseline-batch']);
if (![couriers, hz, seconds, baselineBatch].every((n) => Number.isFinite(n) && n > 0)) {
  console.error('usage: npm run bench:ingest -- --couriers N --hz H --seconds S --json FILE [--url URL] [--workers W] [--profile DIR]');
  process.exit(2);
}

if (args.generator !== 'lean' && args.generator !== 'ws') {
  console.error('--generator must be "lean" or "ws"');
  process.exit(2);
}

const runId = randomBytes(3).toString('hex');
const courierPrefix = `b${runId}-`;
let redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const serverDbUrl = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const log = (msg: string) => process.stderr.write(`[bench:ingest] ${msg}\n`);

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => res(port));
    });
    srv.on('error', rej);
  });
}

async function waitReady(baseUrl: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(`${baseUrl}/readyz`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`service at ${baseUrl} not ready within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function rssMb(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** A process and all its descendants (the service's primary and its cluster workers). */
function processTree(pid: number): number[] {
  const out = [pid];
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    for (const child of children) out.push(...processTree(child));
  } catch {
    // gone, or no /proc
  }
  return out;
}

/** CPU seconds (user + system) a process has used so far; null when /proc is not available. */
function cpuSeconds(pid: number | undefined): number | null {
  return procStat(pid)?.total ?? null;
}

/** Kernel-mode share of a process's CPU seconds (system calls: socket reads and writes). */
function systemSeconds(pid: number | undefined): number | null {
  return procStat(pid)?.system ?? null;
}

function procStat(pid: number | undefined): { total: number; system: number } | null {
  if (!pid) return null;
  try {
    return statCpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

interface Service {
  baseUrl: string;
  jwtSecret: string;
  databaseUrl: string;
  keyPrefix: string;
  child?: ChildProcess;
  cleanup(): Promise<void>;
}

async function startService(): Promise<Service> {
  if (args.url) {
    const jwtSecret = process.env.JWT_SECRET;
    if (!jwtSecret) throw new Error('--url needs JWT_SECRET (the target service’s) to mint courier tokens');
    return {
      baseUrl: args.url.replace(/\/$/, ''),
      jwtSecret,
      databaseUrl: serverDbUrl,
      keyPrefix: process.env.REDIS_KEY_PREFIX ?? 'dispatchd:',
      cleanup: async () => {},
    };
  }
  const dbName = `dispatchd_bench_${runId}`;
  const admin = new pg.Client({ connectionString: serverDbUrl });
  await admin.connect();
  await admin.query(`create database ${dbName}`);
  await admin.end();
  const u = new URL(serverDbUrl);
  u.pathname = `/${dbName}`;
  const databaseUrl = u.toString();
  const port = await freePort();
  const jwtSecret = randomBytes(32).toString('hex');
  const keyPrefix = `bench:${runId}:`;
  const fromSource = args.service === 'source';
  if (!fromSource && !args['skip-build']) await buildDist();
  const execArgv = [...(fromSource ? ['--import=tsx'] : []), ...args['service-flags'].split(' ').filter(Boolean)];
  if (args.profile) execArgv.push('--cpu-prof', `--cpu-prof-dir=${resolve(args.profile)}`);
  const entry = resolve(ROOT, fromSource ? 'src/main.ts' : 'dist/main.js');
  const child = spawn(process.execPath, [...execArgv, entry], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      REDIS_URL: redisUrl,
      DATABASE_URL: databaseUrl,
      REDIS_KEY_PREFIX: keyPrefix,
      JWT_SECRET: jwtSecret,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      HISTORY_BATCH_SIZE: args['history-batch'],
      HISTORY_FLUSH_MS: '100',
      WORKERS: args['service-workers'],
      // the overload test samples the service's memory by kind from /metrics every second
      ...(args['overload-test'] ? { METRICS_PUBLIC: 'true' } : {}),
      ...Object.fromEntries(args['service-env'].split(/\s+/).filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])),
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitReady(baseUrl, 60_000);
  return {
    baseUrl,
    jwtSecret,
    databaseUrl,
    keyPrefix,
    child,
    async cleanup() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      await dropDatabase(serverDbUrl, dbName);
      await deleteKeysWithPrefix(redisUrl, keyPrefix, 'bench-cleanup');
    },
  };
}

/**
 * Compiles src/ to dist/ with tsc (the build a deployment runs), so the service is measured without tsx.
 * The typed client package comes first, as in `npm run build`: src/ imports `@dispatchd/client`, whose
 * types live in its own dist/ (absent on a fresh clone).
 */
async function buildDist(): Promise<void> {
  const tscBin = resolve(ROOT, 'node_modules/typescript/bin/tsc');
  for (const project of ['clients/typescript/tsconfig.json', 'tsconfig.build.json']) {
    log(`building with tsc (${project})`);
    const tsc = spawn(process.execPath, [tscBin, '-p', resolve(ROOT, project)], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    const code = await new Promise<number | null>((res) => tsc.once('exit', res));
    if (code !== 0) throw new Error(`tsc build of ${project} failed (exit ${code})`);
  }
}


async function mintTokens(secret: string): Promise<[string, string][]> {
  const app = fastify({ logger: false });
  await app.register(fastifyJwt, { secret, sign: { algorithm: 'HS256' } });
  await app.ready();
  const out: [string, string][] = [];
  for (let i = 0; i < couriers; i++) {
    const id = `${courierPrefix}${i}`;
    out.push([id, app.jwt.sign({ sub: id, role: 'courier' }, { expiresIn: '2h' })]);
  }
  await app.close();
  return out;
}

interface WorkerResult {
  activeMs: number;
  sent: number;
  acked: number;
  rejected: number;
  errors: number;
  /** Answered `overloaded`: shed, never acked, so not lost. */
  shed: number;
  closed: number;
  /** p99 of the worker's own event-loop delay during the step (its lag is inside every latency it measures). */
  loopDelayP99Ms?: number;
  histogram: [number, number][];
  shedHistogram: [number, number][];
}

interface Progress {
  acked: number;
  sent: number;
  rejected: number;
  errors: number;
  shed: number;
}

/** The courier worker processes (load/ws-couriers.ts): connect once, then run steps (a rate for some seconds). */
class LoadGenerator {
  readonly progress = new Map<ChildProcess, Progress>();
  private constructor(readonly kids: ChildProcess[]) {}

  static async start(wsUrl: string, tokens: [string, string][], hz: number, seconds: number): Promise<LoadGenerator> {
    const kids = Array.from({ length: workers }, () =>
      fork(resolve(ROOT, 'load/ws-couriers.ts'), [], {
        execArgv: ['--import=tsx', ...(args.profile ? ['--cpu-prof', `--cpu-prof-dir=${resolve(args.profile, 'workers')}`] : [])],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      }),
    );
    const gen = new LoadGenerator(kids);
    const connected = kids.map(
      (kid) =>
        new Promise<void>((res, rej) => {
          kid.on('message', (m: { type: string } & Partial<Progress>) => {
            if (m.type === 'progress') gen.progress.set(kid, m as Progress);
            if (m.type === 'connected') res();
          });
          kid.once('exit', (code, signal) => rej(new Error(`worker exited (${signal ?? code}) before connecting`)));
        }),
    );
    const origin = { lat: 48.8566, lng: 2.3522 };
    kids.forEach((kid, w) => kid.send({ type: 'start', wsUrl, tokens: tokens.filter((_, i) => i % workers === w), hz, seconds, origin, client: args.generator }));
    await Promise.all(connected);
    return gen;
  }

  /** Runs one step on every worker; resolves with each worker's figures for it. */
  step(hz?: number, seconds?: number): Promise<WorkerResult[]> {
    const done = this.kids.map(
      (kid) =>
        new Promise<WorkerResult>((res, rej) => {
          const onMessage = (m: { type: string; message?: string }) => {
            if (m.type === 'done') finish(() => res(m as unknown as WorkerResult));
            if (m.type === 'failed') finish(() => rej(new Error(`worker failed: ${m.message}`)));
          };
          // An exit before 'done' (crash, OOM kill) fails the run.
          const onExit = (code: number | null, signal: string | null) => finish(() => rej(new Error(`worker exited (${signal ?? code}) before reporting`)));
          const finish = (then: () => void) => {
            kid.off('message', onMessage);
            kid.off('exit', onExit);
            then();
          };
          kid.on('message', onMessage);
          kid.on('exit', onExit);
        }),
    );
    for (const kid of this.kids) kid.send({ type: 'go', hz, seconds });
    return Promise.all(done);
  }

  totals(): Progress {
    const t: Progress = { acked: 0, sent: 0, rejected: 0, errors: 0, shed: 0 };
    for (const p of this.progress.values()) for (const k of Object.keys(t) as (keyof Progress)[]) t[k] += p[k] ?? 0;
    return t;
  }

  pids(): number[] {
    return this.kids.map((k) => k.pid).filter((p): p is number => p !== undefined);
  }

  stop(): void {
    for (const kid of this.kids) if (kid.connected) kid.send({ type: 'stop' });
  }
}

/** Sums the workers' figures of one step. */
function combine(results: WorkerResult[]): {
  sum: Progress & { closed: number };
  hist: Uint32Array;
  shedHist: Uint32Array;
  activeSecs: number;
  loopDelayP99Ms: number;
} {
  const hist = new Uint32Array(BUCKETS);
  const shedHist = new Uint32Array(BUCKETS);
  const sum = { sent: 0, acked: 0, rejected: 0, errors: 0, shed: 0, closed: 0 };
  for (const r of results) {
    for (const k of Object.keys(sum) as (keyof typeof sum)[]) sum[k] += r[k] ?? 0;
    for (const [i, n] of r.histogram) hist[i] += n;
    for (const [i, n] of r.shedHistogram ?? []) shedHist[i] += n;
  }
  const loopDelayP99Ms = Math.max(0, ...results.map((r) => r.loopDelayP99Ms ?? 0));
  return { sum, hist, shedHist, activeSecs: Math.max(0, ...results.map((r) => r.activeMs / 1000)), loopDelayP99Ms };
}

function percentile(hist: Uint32Array, total: number, p: number): number {
  if (total === 0) return NaN;
  const target = Math.ceil(total * p);
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i];
    if (seen >= target) return (i + 1) * BUCKET_MS;
  }
  return hist.length * BUCKET_MS;
}

async function storedRows(databaseUrl: string): Promise<number> {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    const { rows } = await c.query<{ n: string }>('select count(*) as n from courier_positions where courier_id like $1', [`${courierPrefix}%`]);
    return Number(rows[0].n);
  } finally {
    await c.end();
  }
}

/** The practical limit: the same index updates (hash per point, one packed XADD per batch) straight to Redis. */
async function redisBaseline(updates: number): Promise<number> {
  const prefix = `bench:${runId}:baseline:`;
  const r = new Redis(redisUrl, { keyPrefix: prefix });
  const now = Date.now();
  const points: StoredPoint[] = [];
  const cells: string[] = [];
  for (let i = 0; i < Math.min(updates, couriers); i++) {
    const lat = 48.85 + (i % 100) * 0.001;
    const lng = 2.35 + Math.floor(i / 100) * 0.001;
    cells.push(cellOf(lat, lng, 9));
    points.push({ courierId: `${courierPrefix}${i}`, seq: 1, ts: now, lat, lng, acc: 5, serverTs: now });
  }
  // Warm-up (JIT, connection) outside the timed part, on the same keys.
  await writeBaseline(r, points, cells, Math.min(updates, 20_000));
  const started = performance.now();
  await writeBaseline(r, points, cells, updates);
  const secs = (performance.now() - started) / 1000;
  r.disconnect();
  await deleteKeysWithPrefix(redisUrl, prefix, 'bench-cleanup');
  return updates / secs;
}

async function writeBaseline(r: Redis, points: StoredPoint[], cells: string[], updates: number): Promise<void> {
  for (let done = 0; done < updates; ) {
    const n = Math.min(baselineBatch, updates - done);
    const pipe = r.pipeline();
    const batch: StoredPoint[] = [];
    for (let j = 0; j < n; j++) {
      const i = (done + j) % points.length;
      const p = points[i];
      batch.push(p);
      pipe.hset(courierKey(p.courierId), 'lat', p.lat, 'lng', p.lng, 'ts', p.ts, 'sts', p.serverTs, 'cell', cells[i], 'seq', done + j, 'maxSeq', done + j);
    }
    pipe.xadd(LOCATION_STREAM, '*', 'p', packPoints(batch));
    const res = await pipe.exec();
    for (const [err] of res ?? []) if (err) throw err;
    done += n;
  }
}

async function main(): Promise<void> {
  log(`run ${runId}: ${couriers} couriers × ${hz} Hz for ${seconds} s (${couriers * hz} offered updates/s), ${workers} worker process(es), ${cpus().length} CPUs`);
  const service = await startService();
  let result: Record<string, unknown> | null = null;
  try {
    const tokens = await mintTokens(service.jwtSecret);
    const wsUrl = service.baseUrl.replace(/^http/, 'ws');
    const gen = await LoadGenerator.start(wsUrl, tokens, hz, seconds);
    log(`${couriers} sockets open; streaming`);

    let rssMax = 0;
    const rssTimer = setInterval(() => {
      const pids = service.child?.pid ? processTree(service.child.pid) : [];
      const mb = sumOrNull(pids.map(rssMb));
      if (mb !== null) rssMax = Math.max(rssMax, mb);
    }, 250);
    // Without a TTY (CI, redirected stderr) the bar prints one line per second instead.
    const bar = new SingleBar(
      { format: 'streaming [{bar}] {value}/{total} s | acked {acked} | {rate} acked/s', noTTYOutput: true, notTTYSchedule: 1000, stream: process.stderr },
      Presets.shades_classic,
    );
    bar.start(seconds, 0, { acked: 0, rate: 0 });
    const t0 = Date.now();
    let lastAcked = 0;
    let lastT = t0;
    const barTimer = setInterval(() => {
      const { acked } = gen.totals();
      const now = Date.now();
      bar.update(Math.min(seconds, Math.round((now - t0) / 1000)), { acked, rate: Math.round(((acked - lastAcked) * 1000) / (now - lastT)) });
      lastAcked = acked;
      lastT = now;
    }, 1000);
    const redisPid = await redisServerPid();
    // The service is its process and, with WORKERS > 1, its cluster workers.
    const servicePids = service.child?.pid ? processTree(service.child.pid) : [];
    const cpuPids = { redis: redisPid ?? undefined, workers: gen.pids() };
    const cpuAt = () => ({
      serviceSystem: servicePids.length ? sumOrNull(servicePids.map(systemSeconds)) : null,
      service: servicePids.length ? sumOrNull(servicePids.map(cpuSeconds)) : null,
      redis: cpuSeconds(cpuPids.redis),
      postgres: postgresCpuSeconds(),
      workers: sumOrNull(cpuPids.workers.map((pid) => cpuSeconds(pid))),
    });
    const cpuStart = cpuAt();
    const wallStart = performance.now();
    const results = await gen.step();
    gen.stop();
    const cpuEnd = cpuAt();
    const wallSecs = (performance.now() - wallStart) / 1000;
    clearInterval(barTimer);
    bar.update(seconds);
    bar.stop();

    const { sum, hist } = combine(results);
    const replies = sum.acked + sum.rejected + sum.errors;
    // Sustained rate: accepted updates over the time from the first send to the last ack (never less than
    // the streaming time), so a service that falls behind and catches up later is not credited for it.
    const activeSecs = Math.max(seconds, ...results.map((r) => r.activeMs / 1000));
    log(`stream done: sent ${sum.sent}, acked ${sum.acked}, rejected ${sum.rejected}, errors ${sum.errors}; waiting for the history sink`);

    // Drain: until every acked point is in Postgres, or no progress for 20 s.
    let stored = 0;
    let lastChange = Date.now();
    const drainStart = Date.now();
    while (stored < sum.acked && Date.now() - lastChange < 20_000) {
      const n = await storedRows(service.databaseUrl);
      if (n !== stored) lastChange = Date.now();
      stored = n;
      if (stored < sum.acked) await new Promise((r) => setTimeout(r, 250));
    }
    const drainMs = Date.now() - drainStart;
    clearInterval(rssTimer);
    log(`history: ${stored} rows (${drainMs} ms after the last ack); measuring the Redis baseline`);

    const baseline = await redisBaseline(sum.acked);
    const updatesPerS = sum.acked / activeSecs;
    result = {
      couriers,
      hz,
      seconds,
      workers,
      offered_per_s: (couriers * hz),
      sent: sum.sent,
      active_seconds: round(activeSecs, 2),
      updates_per_s: Math.round(updatesPerS),
      ack_p50_ms: round(percentile(hist, replies, 0.5)),
      ack_p99_ms: round(percentile(hist, replies, 0.99)),
      ack_max_ms: round(percentile(hist, replies, 1)),
      acked: sum.acked,
      rejected: sum.rejected,
      error_frames: sum.errors,
      shed: sum.shed,
      sockets_closed_early: Math.max(0, sum.closed - 0),
      stored,
      lost: sum.acked - stored,
      history_drain_ms: drainMs,
      rss_mb: service.child ? round(rssMax) : null,
      // CPU used while streaming (until the last ack), per accepted update and as cores: robust to other
      // load on the machine, unlike the rates above.
      cpu_us_per_update: {
        service: perUpdate(cpuStart.service, cpuEnd.service, sum.acked),
        service_in_kernel: perUpdate(cpuStart.serviceSystem, cpuEnd.serviceSystem, sum.acked),
        client_workers: perUpdate(cpuStart.workers, cpuEnd.workers, sum.acked),
        redis: perUpdate(cpuStart.redis, cpuEnd.redis, sum.acked),
        postgres: perUpdate(cpuStart.postgres, cpuEnd.postgres, sum.acked),
      },
      cpu_cores_used: {
        service: cores(cpuStart.service, cpuEnd.service, wallSecs),
        client_workers: cores(cpuStart.workers, cpuEnd.workers, wallSecs),
        redis: cores(cpuStart.redis, cpuEnd.redis, wallSecs),
        postgres: cores(cpuStart.postgres, cpuEnd.postgres, wallSecs),
      },
      load_average_1m: round(loadavg()[0], 2),
      redis_baseline_updates_per_s: Math.round(baseline),
      redis_baseline_batch: baselineBatch,
      ratio_to_baseline: round(updatesPerS / baseline, 3),
      cpus: cpus().length,
      node: process.version,
      date: new Date().toISOString(),
      url: args.url ?? null,
      service_flags: args['service-flags'] || null,
      service_build: args.url ? null : args.service,
      service_processes: servicePids.length || null,
    };
  } finally {
    await service.cleanup();
  }
  await report(result);
}

/** Prints the figures as JSON, and writes them to --json when given. */
async function report(result: Record<string, unknown> | null): Promise<void> {
  const text = JSON.stringify(result, null, 2);
  if (args.json) {
    await mkdir(dirname(resolve(args.json)), { recursive: true });
    await writeFile(resolve(args.json), text + '\n');
  }
  console.log(text);
}

function sumOrNull(values: (number | null)[]): number | null {
  return values.some((v) => v === null) ? null : values.reduce<number>((s, v) => s + (v ?? 0), 0);
}

function perUpdate(a: number | null, b: number | null, updates: number): number | null {
  return a === null || b === null || updates === 0 ? null : round(((b - a) * 1e6) / updates, 2);
}

function cores(a: number | null, b: number | null, secs: number): number | null {
  // a sum over processes that exited meanwhile (Postgres backends) can go down: unknown then
  return a === null || b === null || b < a ? null : round((b - a) / secs, 2);
}

/** The local redis-server's pid (for CPU accounting), when Redis runs on this machine. */
async function redisServerPid(): Promise<number | null> {
  // a cluster has one process per node: its CPU is read per node with INFO (redisNodeCpu)
  if (redisUrl.includes('+cluster:')) return null;
  const r = new Redis(redisUrl);
  try {
    const info = await r.info('server');
    const m = /process_id:(\d+)/.exec(info);
    const pid = m ? Number(m[1]) : null;
    return pid !== null && cpuSeconds(pid) !== null ? pid : null;
  } finally {
    r.disconnect();
  }
}

function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}


// --- stepped load: --find-knee and --overload-test -------------------------------------------------------

const KNEE_P99_MS = 50;

interface StepReport {
  offered_per_s: number;
  seconds: number;
  sent_per_s: number;
  accepted_per_s: number;
  ack_p50_ms: number;
  ack_p99_ms: number;
  ack_max_ms: number;
  shed_per_s: number;
  shed_answer_p99_ms: number | null;
  rejected: number;
  error_frames: number;
  sockets_closed: number;
  service_us_per_accepted: number | null;
  /** The same per frame answered, ack or `overloaded` alike: past capacity, what shedding costs shows here. */
  service_us_per_frame: number | null;
  rss_mb_max: number | null;
  rss_mb_end: number | null;
  cores: { service: number | null; generator: number | null; redis: number | null; postgres: number | null };
  /** Each Redis master (one for a single Redis): its CPU (INFO cpu, user + sys) per accepted update and in cores. */
  redis_nodes: { node: string; cpu_us_per_update: number | null; cpu_us_per_update_net_of_idle: number | null; cores: number }[];
  /** Sum over the nodes: Redis CPU per accepted update (and without the idle CPU measured before the steps). */
  redis_cpu_us_per_update: number | null;
  redis_cpu_us_per_update_net_of_idle: number | null;
  load_average_1m: number;
  /** The generator's own event-loop delay, p99 (the worst worker): a lagging generator inflates every latency. */
  generator_loop_delay_p99_ms: number;
  /** Per second: RSS of the service and what the generator saw acked and shed in that second. */
  timeline: { t: number; rss_mb: number | null; accepted: number; shed: number; mem?: ServiceMemory | null }[];
  acked: number;
  shed: number;
}

/** The service's memory by kind (MB), from its /metrics (needs METRICS_PUBLIC=true; null otherwise). */
interface ServiceMemory {
  heap_used: number;
  heap_total: number;
  external: number;
  new_space: number;
  old_space: number;
  /** Redis flushes so far: count and total seconds (ingest_flush_seconds), to tell a slow Redis write from a slow loop. */
  flushes: number;
  flush_seconds: number;
}

async function serviceMemory(baseUrl: string): Promise<ServiceMemory | null> {
  try {
    const res = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(900) });
    if (!res.ok) return null;
    const text = await res.text();
    const mb = (re: RegExp) => {
      const m = re.exec(text);
      return m ? round(Number(m[1]) / 1048576) : -1;
    };
    return {
      heap_used: mb(/^nodejs_heap_size_used_bytes (\S+)/m),
      heap_total: mb(/^nodejs_heap_size_total_bytes (\S+)/m),
      external: mb(/^nodejs_external_memory_bytes (\S+)/m),
      new_space: mb(/^nodejs_heap_space_size_total_bytes\{space="new"\} (\S+)/m),
      old_space: mb(/^nodejs_heap_space_size_total_bytes\{space="old"\} (\S+)/m),
      flushes: Number(/^ingest_flush_seconds_count(?:\{[^}]*\})? (\S+)/m.exec(text)?.[1] ?? -1),
      flush_seconds: Number(/^ingest_flush_seconds_sum(?:\{[^}]*\})? (\S+)/m.exec(text)?.[1] ?? -1),
    };
  } catch {
    return null;
  }
}

/** Runs one rate on the open sockets and measures it (CPU of every process, RSS each second). */
async function runRate(gen: LoadGenerator, service: Service, redisPid: number | null, rate: number, secs: number, memorySampling = false): Promise<StepReport> {
  const servicePids = service.child?.pid ? processTree(service.child.pid) : [];
  const rss = () => (servicePids.length ? sumOrNull(servicePids.map(rssMb)) : null);
  const cpuAt = () => ({
    service: servicePids.length ? sumOrNull(servicePids.map(cpuSeconds)) : null,
    generator: sumOrNull(gen.pids().map((pid) => cpuSeconds(pid))),
    redis: cpuSeconds(redisPid ?? undefined),
    postgres: postgresCpuSeconds(),
  });
  const timeline: StepReport['timeline'] = [];
  const t0 = Date.now();
  let last = gen.totals();
  let rssMax = 0;
  const sampler = setInterval(() => {
    const now = gen.totals();
    const mb = rss();
    if (mb !== null) rssMax = Math.max(rssMax, mb);
    const point: StepReport['timeline'][number] = { t: Math.round((Date.now() - t0) / 1000), rss_mb: mb === null ? null : round(mb), accepted: now.acked - last.acked, shed: now.shed - last.shed };
    timeline.push(point);
    last = now;
    // the memory by kind, where the service exposes it (the overload test asks for METRICS_PUBLIC)
    if (memorySampling) void serviceMemory(service.baseUrl).then((m) => (point.mem = m));
  }, 1000);
  const redisStart = await redisNodeCpu();
  const cpuStart = cpuAt();
  const wallStart = performance.now();
  const results = await gen.step(rate / couriers, secs);
  const cpuEnd = cpuAt();
  const redisEnd = await redisNodeCpu();
  const wallSecs = (performance.now() - wallStart) / 1000;
  clearInterval(sampler);
  gen.progress.clear();
  const { sum, hist, shedHist, activeSecs, loopDelayP99Ms } = combine(results);
  const rssEnd = rss();
  const span = Math.max(secs, activeSecs);
  return {
    offered_per_s: rate,
    seconds: secs,
    sent_per_s: Math.round(sum.sent / secs),
    accepted_per_s: Math.round(sum.acked / span),
    ack_p50_ms: round(percentile(hist, sum.acked + sum.rejected, 0.5)),
    ack_p99_ms: round(percentile(hist, sum.acked + sum.rejected, 0.99)),
    ack_max_ms: round(percentile(hist, sum.acked + sum.rejected, 1)),
    shed_per_s: Math.round(sum.shed / span),
    shed_answer_p99_ms: sum.shed ? round(percentile(shedHist, sum.shed, 0.99)) : null,
    rejected: sum.rejected,
    error_frames: sum.errors,
    sockets_closed: sum.closed,
    rss_mb_max: servicePids.length ? round(Math.max(rssMax, rssEnd ?? 0)) : null,
    rss_mb_end: rssEnd === null ? null : round(rssEnd),
    cores: {
      service: cores(cpuStart.service, cpuEnd.service, wallSecs),
      generator: cores(cpuStart.generator, cpuEnd.generator, wallSecs),
      redis: cores(cpuStart.redis, cpuEnd.redis, wallSecs),
      postgres: cores(cpuStart.postgres, cpuEnd.postgres, wallSecs),
    },
    redis_nodes: redisEnd.map((n, i) => {
      const us = n.us - (redisStart[i]?.us ?? n.us);
      const net = us - (redisIdleUsPerS[i] ?? 0) * wallSecs;
      return {
        node: n.node,
        cpu_us_per_update: sum.acked ? round(us / sum.acked, 2) : null,
        cpu_us_per_update_net_of_idle: sum.acked ? round(net / sum.acked, 2) : null,
        cores: round(us / 1e6 / wallSecs, 3),
      };
    }),
    redis_cpu_us_per_update: sum.acked ? round(redisEnd.reduce((a, n, i) => a + n.us - (redisStart[i]?.us ?? n.us), 0) / sum.acked, 2) : null,
    redis_cpu_us_per_update_net_of_idle: sum.acked
      ? round(redisEnd.reduce((a, n, i) => a + n.us - (redisStart[i]?.us ?? n.us) - (redisIdleUsPerS[i] ?? 0) * wallSecs, 0) / sum.acked, 2)
      : null,
    // process CPU (all threads) per accepted point: far less sensitive to the neighbours than the latencies
    service_us_per_accepted: perUpdate(cpuStart.service, cpuEnd.service, sum.acked),
    service_us_per_frame: perUpdate(cpuStart.service, cpuEnd.service, sum.acked + sum.shed),
    load_average_1m: round(loadavg()[0], 2),
    generator_loop_delay_p99_ms: loopDelayP99Ms,
    timeline,
    acked: sum.acked,
    shed: sum.shed,
  };
}

/**
 * CPU each Redis master has used so far (µs, INFO cpu user + sys; on a cluster every master). One client
 * for the run; the node list is fixed at its first use (no resharding during a bench).
 */
let redisProbe: Promise<import('ioredis').Redis> | null = null;
/** Per node, µs of Redis CPU per second with nothing sent (measured once before the steps). */
let redisIdleUsPerS: number[] = [];
async function redisNodeCpu(): Promise<{ node: string; us: number }[]> {
  redisProbe ??= connectRedis(redisUrl, { name: 'bench-redis-cpu' });
  const probe = await redisProbe;
  const nodes = isCluster(probe) ? masterNodes(probe) : [probe];
  return Promise.all(
    nodes.map(async (n) => {
      const info = await n.info('cpu');
      const f = (k: string) => Number(new RegExp(`${k}:([0-9.]+)`).exec(info)?.[1] ?? 0);
      return { node: `${n.options.host}:${n.options.port}`, us: (f('used_cpu_user') + f('used_cpu_sys')) * 1e6 };
    }),
  );
}

/** A step counts for the knee when the generator really offered the rate and every point was acked in time. */
function kneeVerdict(r: StepReport): string {
  if (r.sent_per_s < 0.9 * r.offered_per_s) return `generator short (${r.sent_per_s}/s sent)`;
  if (r.shed > 0) return `shed ${r.shed_per_s}/s`;
  if (r.error_frames > 0 || r.sockets_closed > 0) return `errors ${r.error_frames}, closed ${r.sockets_closed}`;
  if (!(r.ack_p99_ms <= KNEE_P99_MS)) return `ack p99 ${r.ack_p99_ms} ms`;
  return 'ok';
}

/** Until every acked point is in Postgres, or no progress for 20 s. */
async function drainHistory(databaseUrl: string, acked: number): Promise<{ stored: number; drainMs: number }> {
  let stored = 0;
  let lastChange = Date.now();
  const drainStart = Date.now();
  while (stored < acked && Date.now() - lastChange < 20_000) {
    const n = await storedRows(databaseUrl);
    if (n !== stored) lastChange = Date.now();
    stored = n;
    if (stored < acked) await new Promise((r) => setTimeout(r, 250));
  }
  return { stored, drainMs: Date.now() - drainStart };
}

function printStep(r: StepReport, verdict: string): void {
  log(
    `${r.offered_per_s}/s offered: sent ${r.sent_per_s}/s, accepted ${r.accepted_per_s}/s, ack p50 ${r.ack_p50_ms} ms p99 ${r.ack_p99_ms} ms, ` +
      `shed ${r.shed_per_s}/s, RSS ${r.rss_mb_end} MB, service ${r.service_us_per_accepted} µs/accepted (${r.service_us_per_frame} per frame answered), cores service ${r.cores.service} generator ${r.cores.generator} (its loop delay p99 ${r.generator_loop_delay_p99_ms} ms), ` +
      `Redis µs/update ${r.redis_cpu_us_per_update}, net of idle ${r.redis_cpu_us_per_update_net_of_idle} (${r.redis_nodes.map((n) => n.cpu_us_per_update_net_of_idle).join(' / ')}) → ${verdict}`,
  );
}

/**
 * --find-knee: one service, one set of sockets, --warmup-seconds (5, not reported) at the first rate, then the offered
 * rate stepped up (--rates, --step-seconds each, 3 s
 * of rest between steps). The knee is the highest rate with ack p99 ≤
 * 50 ms and nothing shed; it stops after two steps in a row clearly past capacity (ack p50 > 50 ms, > 10 % shed
 * or the generator short). --overload-test: --rate (or 2 × --knee) for --seconds.
 */
async function steppedMain(): Promise<void> {
  const kneeMode = args['find-knee'];
  const rates = kneeMode
    ? args.rates.split(',').map(Number)
    : [Number(args.rate ?? 2 * Number(args.knee))];
  if (rates.some((r) => !Number.isFinite(r) || r <= 0)) throw new Error('--overload-test needs --rate N or --knee N (points/s)');
  const stepSecs = kneeMode ? Number(args['step-seconds']) : seconds;
  log(`run ${runId}: ${kneeMode ? 'find the knee' : 'overload test'}: ${couriers} couriers, rates ${rates.join(', ')}/s, ${stepSecs} s each, service WORKERS=${args['service-workers']}, ${cpus().length} CPUs`);
  const service = await startService();
  let result: Record<string, unknown> | null = null;
  try {
    const tokens = await mintTokens(service.jwtSecret);
    const gen = await LoadGenerator.start(service.baseUrl.replace(/^http/, 'ws'), tokens, rates[0] / couriers, stepSecs);
    log(`${couriers} sockets open`);
    const redisPid = await redisServerPid();
    // Redis' own idle CPU (the service's pollers: history sink reads, leases, health) over 3 s with the sockets
    // open and nothing sent: subtracted per node to give the CPU the updates themselves cost.
    const idleStart = await redisNodeCpu();
    const idleT0 = performance.now();
    await new Promise((res) => setTimeout(res, 3000));
    const idleEnd = await redisNodeCpu();
    redisIdleUsPerS = idleEnd.map((n, i) => (n.us - (idleStart[i]?.us ?? n.us)) / ((performance.now() - idleT0) / 1000));
    log(`Redis idle CPU per node: ${redisIdleUsPerS.map((u) => round(u / 1e6, 4)).join(' / ')} cores`);
    const steps: (StepReport & { verdict: string })[] = [];
    let failsInRow = 0;
    const warmupSecs = Number(args['warmup-seconds']);
    // the warm-up's acked points are stored too: counted in `acked` so that lost = acked − stored still holds
    let warmupAcked = 0;
    if (kneeMode && warmupSecs > 0) {
      const w = await runRate(gen, service, redisPid, rates[0], warmupSecs);
      warmupAcked = w.acked;
      log(`warm-up (not reported): ${warmupSecs} s at ${rates[0]}/s, accepted ${w.accepted_per_s}/s, shed ${w.shed_per_s}/s`);
      await new Promise((res) => setTimeout(res, 3000));
    }
    for (const rate of rates) {
      const r = await runRate(gen, service, redisPid, rate, stepSecs, !kneeMode);
      const verdict = kneeVerdict(r);
      printStep(r, verdict);
      steps.push({ ...r, verdict });
      // only steps clearly past capacity count towards stopping (a latency tail alone may be the machine's noise)
      const pastCapacity = r.ack_p50_ms > KNEE_P99_MS || r.shed > 0.1 * r.offered_per_s * stepSecs || r.sent_per_s < 0.9 * r.offered_per_s;
      failsInRow = pastCapacity ? failsInRow + 1 : 0;
      if (kneeMode && failsInRow >= 2) break;
      if (kneeMode) await new Promise((res) => setTimeout(res, 3000));
    }
    gen.stop();
    const acked = warmupAcked + steps.reduce((n, r) => n + r.acked, 0);
    const shed = steps.reduce((n, r) => n + r.shed, 0);
    log(`acked ${acked}, shed ${shed}; waiting for the history sink`);
    const { stored, drainMs } = await drainHistory(service.databaseUrl, acked);
    const common = {
      couriers,
      service_workers: Number(args['service-workers']),
      service_env: args['service-env'] || null,
      redis: args['redis-cluster'] ? `private cluster, ${args['redis-masters']} masters` : args['redis-private'] ? 'private redis-server (no AOF)' : 'REDIS_URL',
      generator: args.generator,
      acked,
      shed,
      stored,
      lost: acked - stored,
      history_drain_ms: drainMs,
      cpus: cpus().length,
      node: process.version,
      date: new Date().toISOString(),
    };
    if (kneeMode) {
      const passing = steps.filter((r) => r.verdict === 'ok').map((r) => r.offered_per_s);
      result = { mode: 'find-knee', knee_per_s: passing.length ? Math.max(...passing) : null, step_seconds: stepSecs, warmup_seconds: warmupSecs, ...common, steps: steps.map(({ timeline: _t, ...r }) => r) };
    } else {
      const [r] = steps;
      // RSS flat: no growth past the first 10 s beyond 10 %
      const at10 = r.timeline.find((x) => x.t >= 10)?.rss_mb ?? null;
      const maxAfter = Math.max(...r.timeline.filter((x) => x.t >= 10 && x.rss_mb !== null).map((x) => x.rss_mb as number));
      const growth = at10 ? round(((maxAfter - at10) / at10) * 100) : null;
      result = {
        mode: 'overload-test',
        ...common,
        ...r,
        rss_mb_at_10s: at10,
        rss_mb_max_after_10s: Number.isFinite(maxAfter) ? round(maxAfter) : null,
        rss_growth_after_10s_pct: growth,
        rss_flat: growth !== null && growth <= 10,
      };
    }
  } finally {
    await service.cleanup();
  }
  await report(result);
}

/** --redis-cluster / --redis-private: a Redis of the run's own around `fn`, stopped afterwards. */
async function withRedis(fn: () => Promise<void>): Promise<void> {
  let own: PrivateService | null = null;
  const dir = resolve(ROOT, '.data', `bench-redis-${runId}`);
  if (args['redis-cluster'] && !(args['find-knee'] || args['overload-test'])) {
    // the fixed-rate run's Redis baseline writes one pipeline across slots: one Redis only
    throw new Error('--redis-cluster goes with --find-knee (--rates) or --overload-test');
  }
  if (args['redis-cluster']) {
    own = await startPrivateRedisCluster({ dir, masters: Number(args['redis-masters']) });
  } else if (args['redis-private']) {
    own = await startPrivateRedis({ dir, appendonly: false });
  }
  if (own) {
    redisUrl = own.url;
    log(`private Redis for the run: ${own.url}`);
  }
  try {
    await fn();
  } finally {
    if (redisProbe) await closeRedis(await redisProbe).catch(() => {});
    await own?.stop();
    if (own) await rm(dir, { recursive: true, force: true });
  }
}

withRedis(args['find-knee'] || args['overload-test'] ? steppedMain : main).then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
