/**
 * 2,000 courier sockets opened and closed ten times: the service's open file descriptors
 * (/proc/PID/fd) and resident memory come back to their baseline.
 *
 * File descriptors: counted a second after the first cycle (the first sockets make the service open its
 * lazily created Redis/Postgres connections) and after the last; tolerance +10 for pool connections
 * that come and go, while a leak of one fd per socket shows as thousands.
 *
 * Memory: RSS right after a cycle swings by ±50 MB with the garbage collector's timing (observed
 * 302–416 MB within one run); its floor — the lowest value of several cycles, close to the post-GC
 * size — is steady. The test compares the floor of the last five cycles with that of the first five:
 * a leak raises the floor with every cycle, GC timing does not. Tolerance 48 MB: a leak of 5 KB per
 * socket over the 10,000 sockets between the two windows would exceed it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import t from 'tap';
import WebSocket from 'ws';
import { faultEnv, freePort, sleep, startDispatchd, until } from './harness.js';

// 20,000 upgrades take about a minute on 2 shared cores: more than tap's default per-file timeout.
t.setTimeout(240_000);

const SOCKETS = 2000;
const CYCLES = 10;
/** Upgrades in flight at once: the listen backlog is 511. */
const CONCURRENCY = 200;
const FD_TOLERANCE = 10;
const RSS_TOLERANCE_BYTES = 48 * 1024 * 1024;

function fds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

function rssBytes(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) * 1024;
}

const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

async function openAll(wsUrl: string, tokens: string[]): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  for (let i = 0; i < tokens.length; i += CONCURRENCY) {
    const chunk = tokens.slice(i, i + CONCURRENCY).map(
      (token) =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(`${wsUrl}/v1/courier`, { headers: { authorization: `Bearer ${token}` } });
          ws.once('open', () => resolve(ws));
          ws.once('error', reject);
        }),
    );
    sockets.push(...(await Promise.all(chunk)));
  }
  return sockets;
}

async function closeAll(sockets: WebSocket[]): Promise<void> {
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          ws.once('close', () => resolve());
          ws.close();
        }),
    ),
  );
}

t.test(`${SOCKETS} sockets × ${CYCLES} open/close cycles: fds and RSS return to baseline`, async (t) => {
  const env = await faultEnv(t);
  const svc = await startDispatchd(env, await freePort(), { DISPATCH: 'off' });
  const tokens = Array.from({ length: SOCKETS }, (_, i) => env.token('courier', `churn-${i}`));
  let baseFds = 0;

  const rss: number[] = [];
  let peakFds = 0;
  for (let i = 0; i < CYCLES; i++) {
    const sockets = await openAll(svc.wsUrl, tokens);
    peakFds = Math.max(peakFds, fds(svc.pid));
    await closeAll(sockets);
    rss.push(rssBytes(svc.pid));
    if (i === 0) {
      await sleep(1000);
      baseFds = fds(svc.pid);
    }
  }
  t.ok(peakFds >= baseFds + SOCKETS, `all ${SOCKETS} sockets were open at once (${peakFds} fds at the peak)`);
  t.comment(`RSS after each cycle (MB): ${rss.map(mb).join(' ')}`);

  await until('fds back to baseline', () => fds(svc.pid) <= baseFds + FD_TOLERANCE, 10_000);
  t.pass(`fds back to baseline: ${fds(svc.pid)} (baseline ${baseFds})`);
  const first = Math.min(...rss.slice(0, CYCLES / 2));
  const last = Math.min(...rss.slice(CYCLES / 2));
  t.ok(last <= first + RSS_TOLERANCE_BYTES, `RSS flat: floor of the last ${CYCLES / 2} cycles ${mb(last)} MB vs the first ${CYCLES / 2} ${mb(first)} MB`);
  t.equal((await fetch(`${svc.address}/healthz`)).status, 200, 'still serving');

  svc.child.kill('SIGTERM');
  t.same(await svc.exited, { code: 0, signal: null });
});
