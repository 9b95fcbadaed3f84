/** Talking to one node of a private Redis Cluster directly (fault tests): its view of the topology. */
import { onNode } from '../../src/store/embedded/redis-cluster.js';
import type { RedisNode } from '../../src/store/redis-url.js';

export { onNode };

export interface ClusterNodeLine {
  id: string;
  port: number;
  master: boolean;
  masterId: string;
  slots: [number, number][];
}

/** CLUSTER NODES as seen by `node`: ids, ports, roles, a replica's master and a master's slot ranges. */
export async function clusterNodes(node: RedisNode): Promise<ClusterNodeLine[]> {
  const text = String(await onNode(node, (r) => r.call('CLUSTER', 'NODES')));
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id, addr, flags, masterId, , , , , ...slots] = line.split(' ');
      return {
        id,
        port: Number(/:(\d+)@/.exec(addr)![1]),
        master: flags.split(',').includes('master'),
        masterId,
        slots: slots.filter((s) => !s.startsWith('[')).map((s) => {
          const [a, b] = s.split('-').map(Number);
          return [a, b ?? a] as [number, number];
        }),
      };
    });
}
