/**
 * Helpers of the carrier hand-off tests: the carrier simulator as its own process (`npm run carrier:sim`,
 * real HTTP, a state file), a front door on a fixed port in front of dispatchd (so dispatchd can restart on
 * another port), and a test app with CARRIERS and a zone that allows the carrier.
 */
import type { Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestContext, buildTestApp } from '../support/index.js';
import { polygonZone, zoneSettingsFixture } from '../support/zones.js';
import { HttpCarrierAdapter } from '../../src/runtime/carrier-http.js';
import { orderZone } from '../../src/runtime/dispatch-loop.js';
import { http, orderBody, PICKUP, until } from './orders-helpers.js';

const ROOT = new URL('../../', import.meta.url).pathname;
export const SECRET = 'carrier-handoff-secret-0123456789';
export const API_KEY = 'handoff-key';
export const STORE_SECRET = 'store-webhook-secret-0123456789';
export const LIFECYCLE = ['carrier_requested', 'carrier_courier_assigned', 'carrier_at_pickup', 'carrier_picked_up', 'carrier_at_dropoff', 'carrier_delivered'];

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface Sim {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** The simulator as a child process; resolves once it listens. */
export async function startSim(port: number, extra: string[] = [], clockSpeed = '60'): Promise<Sim> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/carrier-sim.ts', '--port', String(port), '--clock-speed', clockSpeed, '--speed', '50', '--failure-rate', '0', '--position-every-ms', '5000', '--webhook-secret', SECRET, '--api-key', API_KEY, ...extra],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`carrier:sim exited ${code}`)));
  });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  return { url, child, stop };
}

/** A front door on a fixed port forwarding to whichever dispatchd is current (a load balancer: dispatchd may restart on another port). */
export async function frontDoor(): Promise<{ url: string; target: { url: string }; close(): Promise<void> }> {
  const target = { url: '' };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'content-length') headers[k] = v;
      fetch(`${target.url}${req.url}`, { method: req.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined })
        .then(async (r) => res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'text/plain' }).end(Buffer.from(await r.arrayBuffer())))
        .catch(() => res.writeHead(502).end());
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, target, close: () => new Promise<void>((r) => server.close(() => r())) };
}

export async function setup(t: Test, simArgs: string[] = [], env: Record<string, string> = {}, clockSpeed = '60') {
  const statePath = join(mkdtempSync(join(tmpdir(), 'carrier-sim-')), 'state.json');
  const simPort = await freePort();
  let sim = await startSim(simPort, ['--state-file', statePath, ...simArgs], clockSpeed);
  t.teardown(() => sim.stop());
  const door = await frontDoor();
  t.teardown(door.close);
  const ctx = await createTestContext(t, {
    CARRIERS: JSON.stringify([{ name: 'simcarrier', baseUrl: sim.url, apiKey: API_KEY, webhookSecret: SECRET, margin: 0.2 }]),
    CARRIER_WEBHOOK_BASE_URL: door.url,
    WEBHOOK_ALLOW_PRIVATE: 'true',
    WEBHOOK_BACKOFF_BASE_MS: '50',
    WEBHOOK_BACKOFF_MAX_MS: '200',
    ...env,
  });
  let test = await buildTestApp(ctx);
  door.target.url = test.baseUrl;
  const admin = test.token('admin', 'a1');
  const zone = await http(test.baseUrl, 'PUT', '/v1/zones/mitte', admin, { geometry: polygonZone(PICKUP.lat, PICKUP.lng, 0.05), settings: zoneSettingsFixture({ fleet: 'both', carrier: 'simcarrier' }) });
  t.equal(zone.status, 201, 'zone allowing the carrier stored');
  await until(() => test.app.zones.locate(PICKUP)?.settings.carrier === 'simcarrier', 5000, 'zone loaded');
  const adapter = new HttpCarrierAdapter({ name: 'simcarrier', baseUrl: sim.url, apiKey: API_KEY, webhookSecret: SECRET });
  return {
    ctx,
    get test() {
      return test;
    },
    adapter,
    door,
    statePath,
    /** Stops this dispatchd and starts another on the same database and Redis, behind the same front door. */
    async restartApp() {
      await test.close();
      await new Promise((r) => setTimeout(r, 1500));
      test = await buildTestApp(ctx);
      door.target.url = test.baseUrl;
      await until(() => test.app.zones.locate(PICKUP)?.settings.carrier === 'simcarrier', 5000, 'zone loaded after restart');
    },
    async restartSim() {
      await sim.stop();
      await new Promise((r) => setTimeout(r, 1000));
      sim = await startSim(simPort, ['--state-file', statePath, ...simArgs], clockSpeed);
    },
  };
}

export type Ctx = Awaited<ReturnType<typeof setup>>;

export async function place(s: Ctx, ext: string): Promise<string> {
  const res = await http(s.test.baseUrl, 'POST', '/v1/orders', s.test.token('store', 's1'), orderBody(ext));
  return res.body.id as string;
}

export async function events(s: Ctx, id: string): Promise<{ type: string; version: number; data: Record<string, unknown> }[]> {
  return (await http(s.test.baseUrl, 'GET', `/v1/orders/${id}/events`, s.test.token('dispatcher', 'd1'))).body.events;
}

export async function order(s: Ctx, id: string): Promise<Record<string, any>> {
  return (await http(s.test.baseUrl, 'GET', `/v1/orders/${id}`, s.test.token('dispatcher', 'd1'))).body;
}

export const round = (s: Ctx) => s.test.app.dispatcher.runRound(orderZone(s.test.app, PICKUP));

export function carrierEvents(list: { type: string }[]): string[] {
  return list.map((e) => e.type).filter((x) => x.startsWith('carrier_'));
}

