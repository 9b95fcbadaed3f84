import t from 'tap';
import { createSinkRedis } from '../../src/runtime/history-sink-thread-handle.js';

// The sink thread opens its own connection: it must reach Redis exactly as the service does.
t.test('the sink thread connects from the service URL: TLS, credentials, db and key prefix kept', async (t) => {
  const redis = createSinkRedis({ url: 'rediss://sinkuser:s3cret@redis.example:6380/3', keyPrefix: 'p:' }, { lazyConnect: true });
  t.teardown(() => redis.disconnect());
  const o = redis.options;
  t.ok(o.tls, 'rediss:// means TLS');
  t.match(o, { host: 'redis.example', port: 6380, username: 'sinkuser', password: 's3cret', db: 3, keyPrefix: 'p:' });
  t.equal(o.maxRetriesPerRequest, null, 'the sink retries forever rather than dropping a read');
});

t.test('a plain redis:// URL stays without TLS', async (t) => {
  const redis = createSinkRedis({ url: 'redis://127.0.0.1:6379' }, { lazyConnect: true });
  t.teardown(() => redis.disconnect());
  t.notOk(redis.options.tls);
});
