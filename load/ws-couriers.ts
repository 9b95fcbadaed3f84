/**
 * Simulated couriers over real WebSockets, run as a child process of load/bench-ingest.ts so the load
 * generator does not share an event loop with the measurement or the service.
 *
 * Protocol with the parent (IPC messages):
 *   parent → {type:'start', wsUrl, tokens: [[courierId, jwt]…], hz, seconds, origin: {lat,lng}}
 *   worker → {type:'connected', count} after every socket is open, then waits for {type:'go', hz?, seconds?}
 *   worker → {type:'progress', sent, acked, rejected, errors, shed} about every 500 ms
 *   worker → {type:'done', sent, acked, rejected, errors, shed, closed, loopDelayP99Ms, histogram, shedHistogram} after the last
 *            reply (or timeout); the counts are the step's; then waits for the next 'go' (a new step, e.g. another
 *            rate: hz overrides the start's) or {type:'stop'} (close the sockets and exit)
 * Each courier sends one `loc` frame per 1/hz s from its own phase, moving at ~8 m/s; ack latency is
 * measured from send to the matching ack (replies come back in order per socket). An `overloaded` answer
 * (the point was shed, not stored) is counted as `shed`, with its own latency histogram.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import WebSocket from 'ws';
import { LeanWebSocket } from './lean-ws.js';
import { BUCKET_MS, BUCKETS } from './ws-couriers-histogram.js';
import { seededRandom } from '../src/domain/random.js';

interface StartMessage {
  type: 'start';
  wsUrl: string;
  tokens: [string, string][];
  hz: number;
  seconds: number;
  origin: { lat: number; lng: number };
  /** 'lean' (default): load/lean-ws.ts, a frame = one Buffer and one write; 'ws': the ws package. */
  client?: 'lean' | 'ws';
}

/** What a simulated courier needs of its socket (ws and LeanWebSocket both have it). */
interface CourierSocket {
  readonly readyState: number;
  send(text: string): void;
  close(): void;
}


interface Sim {
  id: string;
  ws: CourierSocket;
  seq: number;
  lat: number;
  lng: number;
  dLat: number;
  dLng: number;
  inFlight: number[];
}

const [ACK_A, ACK_C, ERR_E, ERR_R, OPEN_BRACKET, CLOSE_BRACKET, OVL_O, OVL_V] = [...'acer[]ov'].map((c) => c.charCodeAt(0));
const SEQ_NULL = Buffer.from('"seq":null');
/** WebSocket.OPEN and LeanWebSocket.OPEN alike. */
const OPEN = 1;
const histogram = new Uint32Array(BUCKETS);
const shedHistogram = new Uint32Array(BUCKETS);
let sent = 0;
let acked = 0;
let rejected = 0;
let errors = 0;
let shed = 0;
let closed = 0;
let firstSendAt = 0;
let lastReplyAt = 0;

function record(hist: Uint32Array, ms: number): void {
  hist[Math.min(BUCKETS - 1, Math.floor(ms / BUCKET_MS))]++;
}

function sparse(hist: Uint32Array): [number, number][] {
  const out: [number, number][] = [];
  hist.forEach((n, i) => n && out.push([i, n]));
  return out;
}

function send(msg: object): void {
  process.send?.(msg);
}

async function connectAll(m: StartMessage): Promise<Sim[]> {
  const rand = seededRandom(m.tokens.length);
  const sims: Sim[] = [];
  // Connect in waves so the service's accept queue and auth are not flooded at once.
  const WAVE = 100;
  for (let i = 0; i < m.tokens.length; i += WAVE) {
    const wave = m.tokens.slice(i, i + WAVE).map(async ([id, token]) => {
      const heading = rand() * 2 * Math.PI;
      const mPerTick = 8 / m.hz;
      const lat = m.origin.lat + (rand() - 0.5) * 0.1;
      const lng = m.origin.lng + (rand() - 0.5) * 0.15;
      const inFlight: number[] = [];
      const onMessage = (data: Buffer) => {
        lastReplyAt = performance.now();
        // Only replies to our frames (acks, errors) matter; pushed frames (tasks, offers) are ignored.
        // Checked on the bytes: {"type":"ack"… / {"type":"error"…, clean acks end in "rejected":[]}.
        const kind = data[9];
        if (kind === ACK_A && data[10] === ACK_C) {
          const at = inFlight.shift();
          if (at !== undefined) record(histogram, performance.now() - at);
          const n = data.length;
          const clean = data[n - 3] === OPEN_BRACKET && data[n - 2] === CLOSE_BRACKET && data.indexOf(SEQ_NULL) < 0;
          if (clean) acked++;
          else rejected++;
        } else if (kind === ERR_E && data[10] === ERR_R) {
          inFlight.shift();
          errors++;
        } else if (kind === OVL_O && data[10] === OVL_V) {
          const at = inFlight.shift();
          if (at !== undefined) record(shedHistogram, performance.now() - at);
          shed++;
        }
      };
      const url = `${m.wsUrl}/v1/courier`;
      const headers = { authorization: `Bearer ${token}` };
      let ws: CourierSocket;
      if ((m.client ?? 'lean') === 'lean') {
        const lean = await LeanWebSocket.connect(url, headers);
        lean.onMessage = onMessage;
        lean.onClose = () => closed++;
        ws = lean;
      } else {
        // A zero mask is valid and lets ws skip masking: the generator should spend its CPU on sending.
        const w = new WebSocket(url, { headers, perMessageDeflate: false, generateMask: (mask: Buffer) => mask.fill(0) });
        w.on('message', onMessage);
        w.on('close', () => closed++);
        await new Promise<void>((resolve, reject) => {
          w.once('open', () => resolve());
          w.once('error', reject);
        });
        ws = w;
      }
      const sim: Sim = {
        id,
        ws,
        seq: 0,
        lat,
        lng,
        dLat: (Math.cos(heading) * mPerTick) / 111_320,
        dLng: (Math.sin(heading) * mPerTick) / (111_320 * Math.cos((m.origin.lat * Math.PI) / 180)),
        inFlight,
      };
      return sim;
    });
    sims.push(...(await Promise.all(wave)));
  }
  return sims;
}

interface GoMessage {
  type: 'go';
  hz?: number;
  seconds?: number;
}

function nextMessage(): Promise<GoMessage | { type: 'stop' }> {
  return new Promise((resolve) => process.once('message', (m: GoMessage | { type: 'stop' }) => resolve(m)));
}

async function run(m: StartMessage): Promise<void> {
  const sims = await connectAll(m);
  send({ type: 'connected', count: sims.length });
  for (;;) {
    const msg = await nextMessage();
    if (msg.type !== 'go') break;
    await step(sims, msg.hz ?? m.hz, msg.seconds ?? m.seconds);
  }
  for (const s of sims) s.ws.close();
  setTimeout(() => process.exit(0), 500).unref();
}

/** One step: every courier sends at `hz` for `seconds`, then the worker waits for the outstanding replies. */
async function step(sims: Sim[], hz: number, seconds: number): Promise<void> {
  sent = acked = rejected = errors = shed = closed = 0;
  histogram.fill(0);
  shedHistogram.fill(0);
  lastReplyAt = 0;
  const periodMs = 1000 / hz;
  // Couriers are spread over SLOTS phases; one timer walks the slots instead of one timer per courier.
  const SLOTS = Math.max(1, Math.round(periodMs / 2));
  const start = performance.now();
  firstSendAt = start;
  const end = start + seconds * 1000;
  let tick = 0;
  const progress = setInterval(() => send({ type: 'progress', sent, acked, rejected, errors, shed }), 500);
  // The generator's own lag is part of every latency it measures: reported, so a slow generator shows.
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();

  await new Promise<void>((resolve) => {
    const next = () => {
      const now = performance.now();
      if (now >= end) return resolve();
      // Catch up on the slots due by now, so a slow tick does not lower the offered rate, but at most one
      // period's worth per step: acks must be read in between or their latency would be the generator's.
      const due = Math.min(Math.floor(((now - start) / periodMs) * SLOTS), tick + SLOTS - 1);
      for (; tick <= due; tick++) {
        const slot = tick % SLOTS;
        for (let i = slot; i < sims.length; i += SLOTS) {
          const s = sims[i];
          if (s.ws.readyState !== OPEN) continue;
          s.seq++;
          s.lat += s.dLat;
          s.lng += s.dLng;
          s.inFlight.push(performance.now());
          s.ws.send(`{"type":"loc","seq":${s.seq},"ts":${Date.now()},"lat":${s.lat.toFixed(7)},"lng":${s.lng.toFixed(7)},"acc":5}`);
          sent++;
        }
      }
      const wait = start + (tick * periodMs) / SLOTS - performance.now();
      if (wait > 0) setTimeout(next, wait);
      else setImmediate(next);
    };
    next();
  });

  // Wait for outstanding acks (at most 60 s: a saturated service answers late, and late acks still count).
  const deadline = performance.now() + 60_000;
  while (sims.some((s) => s.inFlight.length > 0) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  clearInterval(progress);
  // From the first send to the last reply: the time the service really took for this load.
  const activeMs = Math.max(0, lastReplyAt - firstSendAt);
  loopDelay.disable();
  const loopDelayP99Ms = Math.round(loopDelay.percentile(99) / 1e5) / 10;
  send({ type: 'done', sent, acked, rejected, errors, shed, closed, activeMs, loopDelayP99Ms, histogram: sparse(histogram), shedHistogram: sparse(shedHistogram) });
}

process.on('disconnect', () => process.exit(0));
process.once('message', (m: StartMessage) => {
  run(m).catch((err: unknown) => {
    send({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
    process.exit(1);
  });
});
