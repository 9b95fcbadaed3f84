/**
 * A JSON-frame WebSocket that reconnects with exponential backoff (with jitter), typed by the frames
 * it sends and receives. Uses the global WebSocket when there is one (browsers, Node ≥ 22), else the
 * `ws` package (Node 20). The token goes in `?token=` (browsers cannot set headers on a WebSocket).
 * Stops for good on close 1008 (token refused, tracking expired): retrying would not help.
 */

/** The part of the WHATWG WebSocket both the global one and `ws` implement. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketFactory = (url: string) => WebSocketLike;

export interface BackoffOptions {
  /** First retry delay; default 250 ms. */
  initialMs?: number;
  /** Longest delay; default 15 s. */
  maxMs?: number;
}

export interface SocketOptions {
  /** Reconnect after a drop (default true). */
  reconnect?: boolean;
  backoff?: BackoffOptions;
  /** Override how sockets are made (tests, proxies). */
  createWebSocket?: WebSocketFactory;
}

export const POLICY_VIOLATION = 1008;
const OPEN = 1;

type Listener<F> = (frame: F) => void;
export interface CloseInfo {
  code: number;
  reason: string;
  /** A reconnect follows. */
  willReconnect: boolean;
}

/** `http(s)://host` → `ws(s)://host`. */
export function toWsUrl(baseUrl: string, path: string, token: string): string {
  const base = baseUrl.replace(/^http/, 'ws').replace(/\/$/, '');
  return `${base}${path}${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
}

async function defaultFactory(): Promise<WebSocketFactory> {
  const Global = (globalThis as { WebSocket?: new (url: string) => WebSocketLike }).WebSocket;
  if (Global) return (url) => new Global(url);
  // a variable specifier: bundlers for the browser do not pull `ws` in
  const name = 'ws';
  const mod = (await import(name)) as { default: new (url: string) => WebSocketLike };
  return (url) => new mod.default(url);
}

export class FrameSocket<Out extends { type: string }, In extends { type: string }> {
  private ws: WebSocketLike | null = null;
  private factory: WebSocketFactory | null;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  private readonly listeners = new Map<string, Set<Listener<never>>>();
  private readonly openListeners = new Set<() => void>();
  private readonly closeListeners = new Set<(info: CloseInfo) => void>();

  constructor(
    private readonly url: string,
    private readonly options: SocketOptions = {},
  ) {
    this.factory = options.createWebSocket ?? null;
  }

  /** Opens the socket (and keeps it open until close()). Resolves on the first open. */
  connect(): Promise<void> {
    this.stopped = false;
    return new Promise((resolve, reject) => {
      const offOpen = this.onOpen(() => {
        offOpen();
        offClose();
        resolve();
      });
      const offClose = this.onClose((info) => {
        if (info.willReconnect) return;
        offOpen();
        offClose();
        reject(new Error(`socket closed before it opened: ${info.code} ${info.reason}`));
      });
      void this.open();
    });
  }

  get connected(): boolean {
    return this.ws?.readyState === OPEN;
  }

  /** Frames of one type; returns a function that removes the listener. */
  on<T extends In['type']>(type: T, listener: Listener<Extract<In, { type: T }>>): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => set!.delete(listener as Listener<never>);
  }

  /** Every frame. */
  onFrame(listener: Listener<In>): () => void {
    let set = this.listeners.get('*');
    if (!set) this.listeners.set('*', (set = new Set()));
    set.add(listener as Listener<never>);
    return () => set!.delete(listener as Listener<never>);
  }

  onOpen(listener: () => void): () => void {
    this.openListeners.add(listener);
    return () => this.openListeners.delete(listener);
  }

  onClose(listener: (info: CloseInfo) => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /** Resolves with the next frame of `type` that passes `match`. */
  next<T extends In['type']>(type: T, match: (frame: Extract<In, { type: T }>) => boolean = () => true, timeoutMs = 30_000): Promise<Extract<In, { type: T }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`no ${type} frame within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.on(type, (frame) => {
        if (!match(frame)) return;
        clearTimeout(timer);
        off();
        resolve(frame);
      });
    });
  }

  /** Sends when open; returns false when not connected (the frame is not queued here). */
  send(frame: Out): boolean {
    if (!this.connected) return false;
    this.ws!.send(JSON.stringify(frame));
    return true;
  }

  /** Closes for good (no reconnect). */
  close(code = 1000, reason = 'client closing'): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.ws?.close(code, reason);
  }

  private async open(): Promise<void> {
    this.factory ??= await defaultFactory();
    if (this.stopped) return;
    let ws: WebSocketLike;
    try {
      ws = this.factory(this.url);
    } catch (err) {
      // a malformed URL does not get better with retries
      this.stopped = true;
      for (const l of [...this.closeListeners]) l({ code: 1006, reason: err instanceof Error ? err.message : String(err), willReconnect: false });
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      for (const l of [...this.openListeners]) l();
    };
    ws.onmessage = (ev) => {
      let frame: In;
      try {
        frame = JSON.parse(String(ev.data)) as In;
      } catch {
        return;
      }
      for (const key of [frame.type, '*']) for (const l of [...(this.listeners.get(key) ?? [])]) (l as Listener<In>)(frame);
    };
    ws.onerror = () => {
      // a close event follows; reconnecting is decided there
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      const willReconnect = !this.stopped && this.options.reconnect !== false && ev.code !== POLICY_VIOLATION;
      for (const l of [...this.closeListeners]) l({ code: ev.code, reason: ev.reason, willReconnect });
      if (willReconnect) this.scheduleReconnect();
    };
  }

  private scheduleReconnect(): void {
    const initial = this.options.backoff?.initialMs ?? 250;
    const max = this.options.backoff?.maxMs ?? 15_000;
    const delay = Math.min(max, initial * 2 ** this.attempt) * (0.5 + Math.random() / 2);
    this.attempt++;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.open();
    }, delay);
  }
}
