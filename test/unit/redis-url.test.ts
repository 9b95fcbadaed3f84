import t from 'tap';
import { clusterUrl, isClusterUrl, parseRedisUrl, redactRedisUrl } from '../../src/store/redis-url.js';
import { ConfigError, loadConfig } from '../../src/config.js';

t.test('one Redis: the URL as given', async (t) => {
  t.same(parseRedisUrl('redis://127.0.0.1:6379'), { kind: 'single', url: 'redis://127.0.0.1:6379' });
  t.same(parseRedisUrl(' rediss://:pw@h:6380/2 '), { kind: 'single', url: 'rediss://:pw@h:6380/2' });
  t.equal(isClusterUrl('redis://h:1'), false);
});

t.test('a cluster: seed nodes, credentials, tls', async (t) => {
  t.same(parseRedisUrl('redis+cluster://127.0.0.1:7000,127.0.0.1:7001,h3'), {
    kind: 'cluster',
    nodes: [
      { host: '127.0.0.1', port: 7000 },
      { host: '127.0.0.1', port: 7001 },
      { host: 'h3', port: 6379 },
    ],
    username: undefined,
    password: undefined,
    tls: false,
  });
  const c = parseRedisUrl('rediss+cluster://app:p%40ss@[::1]:7000,b:7001/');
  t.same(c, { kind: 'cluster', nodes: [{ host: '::1', port: 7000 }, { host: 'b', port: 7001 }], username: 'app', password: 'p@ss', tls: true });
  t.equal(isClusterUrl('REDIS+CLUSTER://a:1'), true);
  t.equal(clusterUrl([{ host: '127.0.0.1', port: 1 }, { host: '::1', port: 2 }]), 'redis+cluster://127.0.0.1:1,[::1]:2');
});

t.test('bad cluster URLs are refused with a reason', async (t) => {
  for (const bad of ['redis+cluster://', 'redis+cluster://a:1,,b:2', 'redis+cluster://a:0', 'redis+cluster://a:1/3', 'redis+cluster://a:1?x=1', 'memcached://a', 'nonsense']) {
    t.throws(() => parseRedisUrl(bad), { name: 'RedisUrlError' }, bad);
  }
});

t.test('redaction hides the password of both kinds', async (t) => {
  t.equal(redactRedisUrl('redis+cluster://u:secret@a:1,b:2'), 'redis+cluster://u:***@a:1,b:2');
  t.notMatch(redactRedisUrl('redis://:secret@a:1'), /secret/);
});

t.test('REDIS_URL accepts cluster URLs and refuses broken ones', async (t) => {
  t.equal(loadConfig({ REDIS_URL: 'redis+cluster://a:7000,b:7001' }).redisUrl, 'redis+cluster://a:7000,b:7001');
  t.throws(() => loadConfig({ REDIS_URL: 'redis+cluster://a:x' }), ConfigError);
  t.throws(() => loadConfig({ REDIS_URL: 'http://a' }), ConfigError);
});
