/**
 * Process hygiene as an operator meets it: `npm start &` then `kill $!` (SIGTERM) or SIGINT sent to the npm
 * process itself must stop the service AND the private Redis and PostgreSQL it started — no process of
 * the tree may outlive npm. The scripts exec node directly (no sh/tsx in between that would swallow the
 * signal), and npm 11 forwards SIGTERM/SIGINT to its child.
 *
 * LOCAL_SERVICES=skip forces the private services even though the test machine has local ones, so their
 * shutdown is checked too. The runs share one DATA_DIR: only the first initialises the cluster.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { processAlive, sleep } from '../../src/store/embedded/process.js';
import { serviceUrls } from '../support/context.js';
import { tempDataDir } from '../support/temp-dir.js';
import { repoRoot } from '../unit/sim/support/fixtures.js';

t.setTimeout(180_000);

const dataDir = await tempDataDir(t, 'dispatchd-signals-');

/** Every process below `root` (Linux /proc), with its command line. */
async function descendants(root: number): Promise<Map<number, string>> {
  const parentOf = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // pid (comm) state ppid …: comm may contain spaces, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid) parentOf.set(Number(entry), ppid);
  }
  const found = new Map<number, string>();
  let frontier = [root];
  while (frontier.length) {
    const next: number[] = [];
    for (const [pid, ppid] of parentOf) {
      if (frontier.includes(ppid) && !found.has(pid)) {
        found.set(pid, (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).replaceAll('\0', ' ').trim());
        next.push(pid);
      }
    }
    frontier = next;
  }
  return found;
}

interface Run {
  script: string[];
  env: Record<string, string>;
  ready: RegExp;
  signal: NodeJS.Signals;
  expect: RegExp[];
}

async function runAndSignal(t: Test, run: Run): Promise<void> {
  const child = spawn('npm', run.script, {
    cwd: repoRoot,
    env: { ...process.env, DATA_DIR: dataDir, LOCAL_SERVICES: 'skip', PORT: '0', LOG_FORMAT: 'json', JWT_SECRET: randomBytes(32).toString('hex'), ...run.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let tree = new Map<number, string>();
  t.teardown(() => {
    // Only on failure: never leave this test's processes behind.
    for (const pid of tree.keys()) if (processAlive(pid)) process.kill(pid, 'SIGKILL');
    if (child.exitCode === null) child.kill('SIGKILL');
  });

  for (const deadline = Date.now() + 90_000; !run.ready.test(out); await sleep(100)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`not ready (exit ${child.exitCode}):\n${out.slice(-3000)}`);
  }
  tree = await descendants(child.pid!);
  const commands = [...tree.values()];
  for (const re of run.expect) t.ok(commands.some((c) => re.test(c)), `${re} runs below npm`, { commands });

  child.kill(run.signal);
  const code = await Promise.race([exited, sleep(30_000).then(() => 'timeout' as const)]);
  t.not(code, 'timeout', `npm exits after ${run.signal}`, { out: out.slice(-3000) });
  t.equal(code, 0, 'clean exit', { out: out.slice(-3000) });
  // The service waits for its private servers before it exits; give the kernel a moment to reap.
  for (let i = 0; i < 20 && [...tree.keys()].some(processAlive); i++) await sleep(100);
  const orphans = [...tree].filter(([pid]) => processAlive(pid)).map(([pid, cmd]) => `${pid} ${cmd}`);
  t.same(orphans, [], 'no process of the tree outlives npm');
}

// Private services: node, redis-server and the postmaster are all below npm.
const privateTree = [/node .*--import tsx/, /redis-server/, /postgres -D/];
const noUrls = { REDIS_URL: '', DATABASE_URL: '' };

t.test('npm start: SIGTERM to npm stops the service and its private Redis and PostgreSQL', (t) =>
  runAndSignal(t, { script: ['start'], env: noUrls, ready: /"msg":"dispatchd listening"/, signal: 'SIGTERM', expect: privateTree }),
);

t.test('npm start: SIGINT to npm alone does the same', (t) =>
  runAndSignal(t, { script: ['start'], env: noUrls, ready: /"msg":"dispatchd listening"/, signal: 'SIGINT', expect: privateTree }),
);

t.test('npm run demo: SIGTERM to npm stops the demo and its service', (t) => {
  const { redisUrl, serverDatabaseUrl } = serviceUrls();
  return runAndSignal(t, {
    script: ['run', 'demo', '--', '--instance', join(repoRoot, 'test/fixtures/mdrp/synthetic'), '--port', '0'],
    env: { REDIS_URL: redisUrl, DATABASE_URL: serverDatabaseUrl, LOG_LEVEL: 'error' },
    ready: /Ctrl-C stops the demo/,
    signal: 'SIGTERM',
    expect: [/node .*--import tsx src\/cli\/demo\.ts/],
  });
});
