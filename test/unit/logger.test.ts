/** Credentials never reach the log: tokens in WebSocket query strings and tracking page paths. */
import t from 'tap';
import { redactUrl } from '../../src/logger.js';

t.test('redactUrl', async (t) => {
  t.equal(redactUrl('/v1/console?token=abc.def.ghi'), '/v1/console?token=[redacted]');
  t.equal(redactUrl('/v1/track/42?x=1&token=abc#f'), '/v1/track/42?x=1&token=[redacted]#f');
  t.equal(redactUrl('/track/eyJhbGc.eyJzdWIi.sig'), '/track/[redacted]');
  t.equal(redactUrl('/track/eyJhbGc.eyJzdWIi.sig?x=1'), '/track/[redacted]?x=1');
  t.equal(redactUrl('/v1/orders/1/tracking-link'), '/v1/orders/1/tracking-link', 'other paths are left alone');
  t.equal(redactUrl('/web/track.js'), '/web/track.js');
});
