/**
 * A fleet of real courier WebSocket clients sending `locs` frames at a steady pace, keeping exactly what
 * the service acked, what it answered with an error, and how sockets closed. Sockets that close are
 * reopened (same URL) until the fleet stops, so a restarted service gets its couriers back.
 *
 * Each courier's points have increasing seqs and a virtual clock (10 ms apart, ~0.1 m steps), so the
 * location filter accepts every one: any rejection is a defect the tests report.
 */
import type { Pool } from 'pg';
import WebSocket from 'ws';

const POINTS_PER_FRAME = 10;
const FRAME_EVERY_MS = 100;
/** Frames a courier may have unanswered before it waits (a real app's send window). */
const MAX_IN_FLIGHT = 4;

export interface FleetOptions {
  wsUrl: string;
  /** Courier ids start with this prefix (for the history queries). */
  prefix: string;
  count: number;
  token(courierId: string): string;
  /** Reopen closed sockets (default true). */
  reconnect?: boolean;
  /** Where the couriers are (default 52.4, 13.4: Berlin's south); courier i is i × 0.001° north of it. */
  origin?: { lat: number; lng: number };
}

class LoadCourier {
  ws: WebSocket | null = null;
  private nextSeq = 1;
  private ts = Date.now() - 20_000;
  private lat: number;
  private readonly lng: number;
  /** Seqs of each unanswered frame, oldest first: the socket answers in order. */
  private inFlight: number[][] = [];
  readonly acked = new Set<number>();
  /** When each seq was acked (ms), for the Redis persistence window. */
  readonly ackedAt = new Map<number, number>();
  /** When the last ack / the last error frame came in (ms, 0 = never): when this courier's ingest stopped and resumed. */
  lastAckAt = 0;
  lastErrorAt = 0;
  connecting = false;

  constructor(
    readonly id: string,
    index: number,
    private readonly fleet: Fleet,
  ) {
    const origin = fleet.origin;
    this.lat = origin.lat + index * 0.001;
    this.lng = origin.lng;
  }

  connect(url: string, token: string): void {
    if (this.connecting || this.ws) return;
    this.connecting = true;
    const ws = new WebSocket(`${url}/v1/courier`, { headers: { authorization: `Bearer ${token}` } });
    ws.on('open', () => {
      this.connecting = false;
      this.ws = ws;
      this.fleet.opens++;
    });
    ws.on('message', (data) => this.onFrame(JSON.parse(data.toString()) as { type: string; seq?: number | null; rejected?: { seq: number; reason: string }[]; code?: string }));
    ws.on('error', () => {});
    ws.on('close', (code) => {
      if (this.ws === ws) this.fleet.closes.push(code);
      this.connecting = false;
      this.ws = null;
      // Unanswered frames have an unknown outcome: the test never counts them as acked.
      this.inFlight = [];
    });
  }

  tick(): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || this.inFlight.length >= MAX_IN_FLIGHT) return;
    const points = [];
    const seqs: number[] = [];
    for (let i = 0; i < POINTS_PER_FRAME; i++) {
      const seq = this.nextSeq++;
      this.ts += 10;
      this.lat += 0.000001;
      points.push({ seq, ts: this.ts, lat: this.lat, lng: this.lng, acc: 5 });
      seqs.push(seq);
    }
    this.inFlight.push(seqs);
    ws.send(JSON.stringify({ type: 'locs', points }));
  }

  private onFrame(frame: { type: string; seq?: number | null; rejected?: { seq: number; reason: string }[]; code?: string }): void {
    if (frame.type !== 'ack' && frame.type !== 'error') return; // tasks, offers: not answers
    const seqs = this.inFlight.shift() ?? [];
    if (frame.type === 'error') {
      this.fleet.errors.set(frame.code!, (this.fleet.errors.get(frame.code!) ?? 0) + 1);
      this.lastErrorAt = Date.now();
      this.fleet.errorLog.push({ at: this.lastErrorAt, code: frame.code!, courierId: this.id });
      return;
    }
    const rejected = new Set((frame.rejected ?? []).map((r) => r.seq));
    for (const r of frame.rejected ?? []) this.fleet.rejections.set(r.reason, (this.fleet.rejections.get(r.reason) ?? 0) + 1);
    const now = Date.now();
    for (const seq of seqs) {
      if (rejected.has(seq)) continue;
      this.acked.add(seq);
      this.ackedAt.set(seq, now);
    }
    this.lastAckAt = now;
    this.fleet.acks++;
  }
}

export class Fleet {
  readonly couriers: LoadCourier[];
  /** Error frames by code. */
  readonly errors = new Map<string, number>();
  /** Every error frame with its arrival time, in order. */
  readonly errorLog: { at: number; code: string; courierId: string }[] = [];
  /** Rejected points by reason (none expected). */
  readonly rejections = new Map<string, number>();
  readonly closes: number[] = [];
  acks = 0;
  opens = 0;
  private timer: NodeJS.Timeout | null = null;
  private reconnect: boolean;
  readonly origin: { lat: number; lng: number };

  constructor(private readonly opts: FleetOptions) {
    this.origin = opts.origin ?? { lat: 52.4, lng: 13.4 };
    this.couriers = Array.from({ length: opts.count }, (_, i) => new LoadCourier(`${opts.prefix}${i}`, i, this));
    this.reconnect = opts.reconnect ?? true;
  }

  /** Opens every socket and waits until all are open. */
  async start(): Promise<void> {
    for (const c of this.couriers) c.connect(this.opts.wsUrl, this.opts.token(c.id));
    await this.allConnected(15_000);
    this.timer = setInterval(() => {
      for (const c of this.couriers) {
        if (!c.ws && this.reconnect) c.connect(this.opts.wsUrl, this.opts.token(c.id));
        c.tick();
      }
    }, FRAME_EVERY_MS);
  }

  async allConnected(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.couriers.some((c) => !c.ws)) {
      if (Date.now() > deadline) throw new Error(`fleet: ${this.couriers.filter((c) => !c.ws).length} couriers not connected within ${timeoutMs} ms`);
      for (const c of this.couriers) if (!c.ws && this.reconnect) c.connect(this.opts.wsUrl, this.opts.token(c.id));
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  set reconnecting(on: boolean) {
    this.reconnect = on;
  }

  /** Stops sending (and reconnecting); closes the sockets unless `keepOpen`. */
  stop(keepOpen = false): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.reconnect = false;
    if (!keepOpen) for (const c of this.couriers) c.ws?.close();
  }

  /** Acks received until now — waits `ms` and returns how many came in meanwhile. */
  async acksDuring(ms: number): Promise<number> {
    const before = this.acks;
    await new Promise((r) => setTimeout(r, ms));
    return this.acks - before;
  }

  /** Waits until at least one more frame is acked; false if none is within `timeoutMs`. */
  async acksResume(timeoutMs = 10_000): Promise<boolean> {
    const before = this.acks;
    const deadline = Date.now() + timeoutMs;
    while (this.acks === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return this.acks > before;
  }

  /** Waits (up to `timeoutMs`) until `n` points are acked in all: load is flowing before a fault. */
  async ackedAtLeast(n: number, timeoutMs = 20_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.ackedCount() < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return this.ackedCount();
  }

  ackedCount(): number {
    return this.couriers.reduce((n, c) => n + c.acked.size, 0);
  }
}

export interface HistoryCheck {
  acked: number;
  /** Acked points not in courier_positions. */
  missing: { courierId: string; seq: number; ackedAt: number }[];
  /** (courier, seq) pairs stored more than once. */
  duplicates: number;
  stored: number;
}

/** Compares what the fleet got acked with courier_positions. */
export async function checkHistory(db: Pool, fleet: Fleet, prefix: string): Promise<HistoryCheck> {
  const { rows } = await db.query<{ courier_id: string; seq: string; n: number }>(
    'select courier_id, seq, count(*)::int as n from courier_positions where courier_id like $1 group by courier_id, seq',
    [`${prefix}%`],
  );
  const stored = new Map<string, Set<number>>();
  let duplicates = 0;
  for (const r of rows) {
    if (r.n > 1) duplicates++;
    let set = stored.get(r.courier_id);
    if (!set) stored.set(r.courier_id, (set = new Set()));
    set.add(Number(r.seq));
  }
  const missing: HistoryCheck['missing'] = [];
  for (const c of fleet.couriers) {
    const have = stored.get(c.id);
    for (const seq of c.acked) if (!have?.has(seq)) missing.push({ courierId: c.id, seq, ackedAt: c.ackedAt.get(seq)! });
  }
  return { acked: fleet.ackedCount(), missing, duplicates, stored: rows.length };
}

/** Polls checkHistory until nothing acked is missing (the sink catches up), or `timeoutMs`. */
export async function historyCaughtUp(db: Pool, fleet: Fleet, prefix: string, timeoutMs = 30_000): Promise<HistoryCheck> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const check = await checkHistory(db, fleet, prefix);
    if (check.missing.length === 0 || Date.now() > deadline) return check;
    await new Promise((r) => setTimeout(r, 250));
  }
}
