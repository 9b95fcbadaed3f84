/**
 * Credentials never reach the log (tokens in WebSocket query strings and tracking page paths), the
 * format follows the terminal, and errors are logged without the client objects hanging off them.
 */
import t from 'tap';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config.js';
import { createLogger, redactUrl, resolveLogFormat } from '../../src/logger.js';

t.test('redactUrl', async (t) => {
  t.equal(redactUrl('/v1/console?token=abc.def.ghi'), '/v1/console?token=[redacted]');
  t.equal(redactUrl('/v1/track/42?x=1&token=abc#f'), '/v1/track/42?x=1&token=[redacted]#f');
  t.equal(redactUrl('/track/eyJhbGc.eyJzdWIi.sig'), '/track/[redacted]');
  t.equal(redactUrl('/track/eyJhbGc.eyJzdWIi.sig?x=1'), '/track/[redacted]?x=1');
  t.equal(redactUrl('/v1/orders/1/tracking-link'), '/v1/orders/1/tracking-link', 'other paths are left alone');
  t.equal(redactUrl('/web/track.js'), '/web/track.js');
});

t.test('log format: pretty on a terminal, JSON otherwise; LOG_FORMAT overrides both ways', async (t) => {
  t.equal(resolveLogFormat('auto', true), 'pretty');
  t.equal(resolveLogFormat('auto', false), 'json');
  t.equal(resolveLogFormat(undefined, false), 'json');
  t.equal(resolveLogFormat('json', true), 'json', 'json even on a terminal');
  t.equal(resolveLogFormat('pretty', false), 'pretty', 'pretty even into a pipe');
  t.equal(loadConfig({}).logFormat, 'auto');
  t.equal(loadConfig({ LOG_FORMAT: 'pretty' }).logFormat, 'pretty');
  t.throws(() => loadConfig({ LOG_FORMAT: 'yaml' }), /LOG_FORMAT must be auto, json or pretty/);
});

t.test('a logged error keeps message, code and stack but never the client object hanging off it', async (t) => {
  let line = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      line += chunk.toString('utf8');
      cb();
    },
  });
  const log = createLogger({ level: 'info', destination: sink });
  const err = Object.assign(new Error('terminating connection due to administrator command'), {
    code: '57P01',
    client: { connectionParameters: { user: 'postgres', password: 'secret' }, _events: {} },
    socket: { remoteAddress: '127.0.0.1' },
  });
  log.warn({ err }, 'lost');
  const entry = JSON.parse(line) as { err: Record<string, unknown> };
  t.equal(entry.err.message, err.message);
  t.equal(entry.err.code, '57P01');
  t.type(entry.err.stack, 'string');
  t.notOk('client' in entry.err, 'client dropped');
  t.notOk('socket' in entry.err, 'socket dropped');
  t.notMatch(line, /secret|connectionParameters/);
});
