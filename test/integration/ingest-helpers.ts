/** A scripted courier WebSocket client for the location pipeline tests: `next()` yields replies (ack/error/overloaded) only. */
import WebSocket from 'ws';
import type { Pool } from 'pg';

export interface Frame {
  type: string;
  [k: string]: unknown;
}

export class CourierClient {
  private readonly queue: Frame[] = [];
  private readonly waiters: ((f: Frame) => void)[] = [];
  /** Frames the server pushed on its own (tasks, offers): not replies to location frames. */
  readonly pushed: Frame[] = [];
  closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      if (frame.type !== 'ack' && frame.type !== 'error' && frame.type !== 'overloaded') {
        this.pushed.push(frame);
        return;
      }
      const w = this.waiters.shift();
      if (w) w(frame);
      else this.queue.push(frame);
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static async connect(wsUrl: string, token: string, opts: { autoPong?: boolean } = {}): Promise<CourierClient> {
    const ws = new WebSocket(`${wsUrl}/v1/courier`, { headers: { authorization: `Bearer ${token}` }, autoPong: opts.autoPong ?? true });
    const client = new CourierClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  next(timeoutMs = 5000): Promise<Frame> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no frame within timeout')), timeoutMs);
      this.waiters.push((f) => {
        clearTimeout(timer);
        resolve(f);
      });
    });
  }

  /** Sends a frame and returns the server's answer to it. */
  async request(frame: unknown): Promise<Frame> {
    this.send(frame);
    return this.next();
  }

  close(): void {
    this.ws.close();
  }
}

export async function waitFor<T>(fn: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (done(v) || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function storedRows(db: Pool, courierId: string): Promise<{ seq: number; lat: number; lng: number; ts: number }[]> {
  const { rows } = await db.query<{ seq: string; lat: number; lng: number; ms: string }>(
    'select seq, lat, lng, (extract(epoch from ts) * 1000)::bigint as ms from courier_positions where courier_id = $1 order by seq',
    [courierId],
  );
  return rows.map((r) => ({ seq: Number(r.seq), lat: r.lat, lng: r.lng, ts: Number(r.ms) }));
}
