import { pino, stdSerializers, type DestinationStream, type Logger } from 'pino';
import pinoPretty from 'pino-pretty';
import type { LogLevel } from './config.js';

export type { Logger };

/** LOG_FORMAT: `auto` is decided by whether stdout is a terminal. */
export type LogFormat = 'auto' | 'json' | 'pretty';

interface LoggedRequest {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
}

/** Pretty for a person at a terminal, JSON for everything else (files, pipes, collectors); LOG_FORMAT overrides. */
export function resolveLogFormat(format: LogFormat | undefined, stdoutIsTty: boolean): 'json' | 'pretty' {
  if (format === 'json' || format === 'pretty') return format;
  return stdoutIsTty ? 'pretty' : 'json';
}

/**
 * Properties of errors that hold whole client objects (pg attaches the `client` to an idle-connection
 * error; sockets and requests hang off network errors): kilobytes of internals, and possibly
 * connection parameters, in one log line. Dropped from every logged error.
 */
const HEAVY_ERROR_KEYS = ['client', 'connection', 'socket', 'request', 'response'];

function errSerializer(err: Error): Record<string, unknown> {
  const out = stdSerializers.err(err) as unknown as Record<string, unknown>;
  for (const key of HEAVY_ERROR_KEYS) delete out[key];
  return out;
}

/**
 * The process logger, object first (`log.info({ courierId }, 'moved')`): JSON lines on stdout, or
 * coloured human-readable lines (pino-pretty, in-process) when `format` resolves to pretty; a given
 * `destination` always gets JSON. Credentials never reach the log: Authorization headers are redacted,
 * and so are `?token=` values on WebSocket URLs and the tracking page's token path. Writes are
 * synchronous so the last lines before `process.exit` are not lost.
 */
export function createLogger(opts: { level: LogLevel; name?: string; destination?: DestinationStream; format?: LogFormat }): Logger {
  const options = {
    name: opts.name ?? 'dispatchd',
    level: opts.level,
    redact: { paths: ['req.headers.authorization', 'headers.authorization'], censor: '[redacted]' },
    serializers: {
      err: errSerializer,
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
  if (opts.destination) return pino(options, opts.destination);
  if (resolveLogFormat(opts.format, process.stdout.isTTY === true) === 'pretty') {
    const pretty = pinoPretty({ sync: true, destination: 1, colorize: process.stdout.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
    return pino(options, pretty);
  }
  return pino(options, pino.destination({ fd: 1, sync: true }));
}

/** Removes a `token` query parameter, and the token of a `/track/<token>` page path, from a URL so logs never carry credentials. */
export function redactUrl(url: string): string {
  return url.replace(/([?&]token=)[^&#]*/g, '$1[redacted]').replace(/^(\/track\/)[^/?#]+/, '$1[redacted]');
}
