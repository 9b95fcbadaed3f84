import type { FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';

/**
 * @fastify/websocket routes every socket 'error' event and every throw of a socket handler here. Its
 * default logs them all at error with a stack. A socket error is nearly always the client's doing — a
 * frame over WS_MAX_FRAME_BYTES, invalid UTF-8 or framing (ws's `WS_ERR_*` codes, the socket is closed
 * with 1009/1002/1007), or a peer that vanished (ECONNRESET, EPIPE) — so those go to info with their code
 * only; a handler's own throw stays at error. The sockets register no 'error' listener of their own: this
 * is the one log line per socket error.
 */
const NETWORK_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED']);

export function isClientSocketFault(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('WS_ERR_') || NETWORK_CODES.has(code));
}

export function websocketErrorHandler(err: Error, socket: WebSocket, request: FastifyRequest): void {
  // which socket (route pattern, never the URL with its ?token=) and whose
  const about = { route: request.routeOptions.url, sub: (request.user as { sub?: string } | undefined)?.sub };
  if (isClientSocketFault(err)) {
    request.log.info({ ...about, code: (err as NodeJS.ErrnoException).code, reason: err.message }, 'websocket closed on a client fault');
  } else {
    request.log.error({ ...about, err }, 'websocket handler failed');
  }
  socket.terminate();
}
