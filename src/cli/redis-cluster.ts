/**
 * `npm run redis:cluster`: a private 3-master Redis Cluster on loopback ports, until Ctrl-C.
 * Prints the REDIS_URL to use (`redis+cluster://127.0.0.1:p1,…`). Options: `--masters N`, `--replicas 0|1`.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '../logger.js';
import { startPrivateRedisCluster } from '../store/embedded/redis-cluster.js';

const { values } = parseArgs({ options: { masters: { type: 'string', default: '3' }, replicas: { type: 'string', default: '0' } } });
const log = createLogger({ level: 'info', name: 'redis-cluster' });
const cluster = await startPrivateRedisCluster({
  dir: join(process.env.DATA_DIR || '.data', `redis-cluster-${process.pid}`),
  masters: Number(values.masters),
  replicas: values.replicas === '1' ? 1 : 0,
  log,
});
console.log(`REDIS_URL=${cluster.url}`);
const stop = () => {
  void cluster.stop().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
