/** WebSocket and HTTP helpers for the order, offer, tracking and webhook integration tests. */
import WebSocket from 'ws';
import type { FastifyInstance } from 'fastify';

export interface Frame {
  type: string;
  [k: string]: unknown;
}

/** A real `ws` client that keeps every frame it got, so tests can wait for one matching a predicate. */
export class WsClient {
  readonly frames: Frame[] = [];
  private readonly waiters: { pred: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
  /** Frames already returned by `next`, so each is handed out once. */
  private readonly consumed = new Set<Frame>();
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      this.frames.push(frame);
      const w = this.waiters.find((x) => x.pred(frame));
      if (w) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(frame);
      }
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static async connect(url: string, token?: string): Promise<WsClient> {
    const ws = new WebSocket(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
    const client = new WsClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The earliest frame not handed out yet that matches `pred` (already received or still to come). */
  next(pred: (f: Frame) => boolean = () => true, timeoutMs = 5000, what = 'frame'): Promise<Frame> {
    const found = this.frames.find((f) => !this.consumed.has(f) && pred(f));
    if (found) {
      this.consumed.add(found);
      return Promise.resolve(found);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        const rest = this.frames.filter((f) => !this.consumed.has(f));
        reject(new Error(`no ${what} within ${timeoutMs} ms; unconsumed: ${JSON.stringify(rest).slice(0, 800)}`));
      }, timeoutMs);
      const waiter = {
        pred,
        resolve: (f: Frame) => {
          clearTimeout(timer);
          this.consumed.add(f);
          resolve(f);
        },
      };
      this.waiters.push(waiter);
    });
  }

  /** Next frame of the given type (and optional extra match). */
  nextOf(type: string, match: (f: Frame) => boolean = () => true, timeoutMs = 5000): Promise<Frame> {
    return this.next((f) => f.type === type && match(f), timeoutMs, `${type} frame`);
  }

  close(): void {
    this.ws.close();
  }
}

export async function http<T = any>(
  baseUrl: string,
  method: string,
  path: string,
  token: string | undefined,
  body?: unknown,
): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T, headers: res.headers };
}

/** Berlin, around Alexanderplatz: a pickup and a drop-off ~1.5 km apart. */
export const PICKUP = { lat: 52.5219, lng: 13.4132, address: 'Alexanderplatz 1' };
export const DROPOFF = { lat: 52.5300, lng: 13.4000, address: 'Invalidenstr. 10' };

export function orderBody(externalId: string, extra: Record<string, unknown> = {}) {
  return { externalId, pickup: PICKUP, dropoff: DROPOFF, items: 2, option: 'express', ...extra };
}

export function until(cond: () => Promise<boolean> | boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const tick = async () => {
      try {
        if (await cond()) return resolve();
      } catch (err) {
        return reject(err);
      }
      if (Date.now() - start > timeoutMs) return reject(new Error(`${what} not reached within ${timeoutMs} ms`));
      setTimeout(tick, 20);
    };
    void tick();
  });
}

/** A loopback webhook receiver that records every request and answers with `respond` (200 by default). */
export interface Received {
  readonly body: any;
  readonly raw: string;
  readonly headers: Record<string, string | string[] | undefined>;
}

export async function webhookReceiver(respond: (r: Received) => number | Promise<number> = () => 200) {
  const { createServer } = await import('node:http');
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const r: Received = { body: JSON.parse(raw), raw, headers: req.headers };
      const status = await respond(r);
      if (status >= 200 && status < 300) received.push(r);
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${addr.port}/hook`,
    /** Requests answered with 2xx, in arrival order. */
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * Gives a courier a fresh position in the live index at the app's clock — what an online courier has —
 * for tests that offer or assign by hand without driving the courier's location socket.
 */
export async function markOnline(app: FastifyInstance, courierId: string, at: { lat: number; lng: number } = PICKUP): Promise<void> {
  const now = app.clock.now();
  const cell = app.locationIndex.cellOf(at.lat, at.lng);
  await app.locationIndex.write([{ courierId, serverTs: now, maxSeq: -1, previousCell: null, current: { seq: -1, ts: now, lat: at.lat, lng: at.lng, cell } }], []);
}
