import { pino, type Logger } from 'pino';
import type { LogLevel } from './config.js';

export type { Logger };

/**
 * The process logger: structured JSON on stdout, object first (`log.info({ courierId }, 'moved')`).
 * Tokens passed as `?token=` on WebSocket URLs are redacted from logged request URLs.
 */
export function createLogger(opts: { level: LogLevel; name?: string }): Logger {
  return pino({
    name: opts.name ?? 'dispatchd',
    level: opts.level,
    redact: { paths: ['req.headers.authorization', 'headers.authorization'], censor: '[redacted]' },
    serializers: {
      // Replaces Fastify's default `req` serializer (same fields) to keep tokens out of logs.
      req(req: { method?: string; url?: string; host?: string; ip?: string; socket?: { remotePort?: number } }) {
        return {
          method: req.method,
          url: req.url === undefined ? undefined : redactUrl(req.url),
          host: req.host,
          remoteAddress: req.ip,
          remotePort: req.socket?.remotePort,
        };
      },
    },
  });
}

/** Removes a `token` query parameter from a URL so logs never carry credentials. */
export function redactUrl(url: string): string {
  return url.replace(/([?&]token=)[^&#]*/g, '$1[redacted]');
}
