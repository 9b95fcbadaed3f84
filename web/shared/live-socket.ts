/**
 * A WebSocket that reconnects with backoff after a network drop, and stops for good when the service
 * refuses it (close 1008: bad token, wrong role, expired tracking link) — reconnecting cannot help then.
 */

export interface LiveSocketHandlers {
  onFrame(frame: { type: string; [k: string]: unknown }): void;
  onStatus(status: 'connecting' | 'live' | 'reconnecting'): void;
  onRefused(reason: string): void;
}

export const WS_POLICY_VIOLATION = 1008;

export function openLiveSocket(url: () => string, h: LiveSocketHandlers): { close(): void } {
  let ws: WebSocket | null = null;
  let stopped = false;
  let delay = 500;
  let retry: number | undefined;
  const connect = () => {
    h.onStatus(ws ? 'reconnecting' : 'connecting');
    const socket = new WebSocket(url());
    ws = socket;
    socket.onopen = () => {
      delay = 500;
      h.onStatus('live');
    };
    socket.onmessage = (ev) => {
      try {
        h.onFrame(JSON.parse(String(ev.data)));
      } catch {
        // a frame that is not JSON is not ours to show
      }
    };
    socket.onclose = (ev) => {
      if (stopped) return;
      if (ev.code === WS_POLICY_VIOLATION) {
        stopped = true;
        h.onRefused(ev.reason || 'refused');
        return;
      }
      h.onStatus('reconnecting');
      retry = window.setTimeout(connect, delay);
      delay = Math.min(10_000, delay * 2);
    };
  };
  connect();
  return {
    close() {
      stopped = true;
      window.clearTimeout(retry);
      ws?.close();
    },
  };
}
