import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config.js';

export type { Logger };

interface LoggedRequest {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
}

/**
 * The process logger: structured JSON on stdout, object first (`log.info({ courierId }, 'moved')`).
 * Credentials never reach the log: Authorization headers are redacted, and so are `?token=` values
 * on WebSocket URLs and the tracking page's token path. Writes are synchronous so the last lines before `process.exit` are not lost.
 */
export function createLogger(opts: { level: LogLevel; name?: string; destination?: DestinationStream }): Logger {
  const options = {
    name: opts.name ?? 'dispatchd',
    level: opts.level,
    redact: { paths: ['req.headers.authorization', 'headers.authorization'], censor: '[redacted]' },
    serializers: {
      // Replaces Fastify's default `req` serializer (same fields) to strip tokens from URLs.
      req: (req: LoggedRequest) => ({
        method: req.method,
        url: req.url === undefined ? undefined : redactUrl(req.url),
        host: req.host,
        remoteAddress: req.ip,
        remotePort: req.socket?.remotePort,
      }),
    },
  };
  return pino(options, opts.destination ?? pino.destination({ fd: 1, sync: true }));
}

/** Removes a `token` query parameter, and the token of a `/track/<token>` page path, from a URL so logs never carry credentials. */
export function redactUrl(url: string): string {
  return url.replace(/([?&]token=)[^&#]*/g, '$1[redacted]').replace(/^(\/track\/)[^/?#]+/, '$1[redacted]');
}
