/**
 * Issue 15, failover: a private Redis Cluster (3 masters + 1 replica each, `cluster-node-timeout` 1000 ms),
 * the service as a real process on it, couriers streaming over real WebSockets; the master holding the
 * first of the cluster's history streams (and a third of the couriers' hashes and cells) is killed with
 * SIGKILL mid-ingest.
 *
 * Asserted: its replica is promoted; during a bounded window couriers get late acks or `store_unavailable`
 * error frames (and no other error); every courier's ingest resumes on the same sockets and service process;
 * no point is stored twice; every acked point that is not in Postgres was acked within the replication window
 * just before the kill. Then the promoted replica is killed too (no node left for those slots): every courier is
 * answered `store_unavailable`, frames keep being answered (no hang), sockets stay open. Measured: see
 * docs/scaling.md ("Failover").
 *
 * Why anything can be lost: Redis replication is asynchronous. A master acks a write (here: the flush's XADD
 * to a history stream and the courier hash updates) before its replica has it; killed before the bytes reach the
 * replica, the promoted replica never saw them. A lost stream entry is history the sink never read (its
 * points were acked to the courier, so the courier does not resend them); a lost hash update only moves
 * the courier's last position / maxSeq back (its next points are accepted again, Postgres drops the
 * re-sent duplicates by primary key). Entries the sink had already read before the kill are in Postgres
 * whatever happens to the stream; a lost XACK only re-delivers them (ON CONFLICT DO NOTHING).
 * The test prints what was lost.
 */
import t from 'tap';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fastify from 'fastify';
import fastifyJwt from '@fastify/jwt';
import { startPrivateRedisCluster, type PrivateCluster } from '../../src/store/embedded/redis-cluster.js';
import { processAlive, sleep } from '../../src/store/embedded/process.js';
import { DEFAULT_CLUSTER_HISTORY_STREAMS, historyStreamKeys } from '../../src/store/redis/history-streams.js';
import type { RedisNode } from '../../src/store/redis-url.js';
import { createTestContext, dropDatabase, serviceUrls } from '../support/context.js';
import { runService } from '../support/service-process.js';
import { checkHistory, Fleet, historyCaughtUp } from './fleet.js';
import { until } from './harness.js';
import { clusterNodes, onNode } from './cluster-nodes.js';

t.setTimeout(240_000);

/** How long a master may be unreachable before its replica takes over (Redis' own default is 15 s). */
const NODE_TIMEOUT_MS = 1000;
/** Kill → every courier acked again: failure detection (node timeout + gossip), election, client slot refresh. */
const MAX_UNAVAILABLE_MS = 8000;
/** Acked points may be lost only if acked this close to the kill (asynchronous replication lag, loopback). */
const REPLICATION_WINDOW_MS = 1000;

async function role(node: RedisNode): Promise<string> {
  const info = await onNode(node, (r) => r.info('replication')).catch(() => '');
  return /role:(\w+)/.exec(info)?.[1] ?? 'down';
}

t.test('a master killed mid-ingest: replica promoted, acks late or store_unavailable for a few seconds, ingest resumes, loss bounded and explained', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dispatchd-cluster-failover-'));
  await chmod(dir, 0o755);
  const cluster: PrivateCluster = await startPrivateRedisCluster({ dir: join(dir, 'redis'), masters: 3, replicas: 1, nodeTimeoutMs: NODE_TIMEOUT_MS });
  t.teardown(async () => {
    await cluster.stop().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  });
  const ctx = await createTestContext(undefined, {}, { redisUrl: cluster.url, serverDatabaseUrl: serviceUrls().serverDatabaseUrl });
  // Not ctx.cleanup(): it deletes the test's keys with SCAN on every master, and the test leaves a shard with
  // no node (the whole private cluster is removed instead). The database is dropped as usual.
  t.teardown(async () => {
    ctx.redis.disconnect();
    await ctx.db.end().catch(() => {});
    await dropDatabase(serviceUrls().serverDatabaseUrl, new URL(ctx.databaseUrl).pathname.slice(1));
  });
  const signer = fastify({ logger: false });
  await signer.register(fastifyJwt, { secret: ctx.config.jwtSecret!, sign: { algorithm: 'HS256', expiresIn: '1h' } });
  await signer.ready();
  t.teardown(() => signer.close());

  const svc = runService(ctx, { HISTORY_FLUSH_MS: '50' });
  t.teardown(async () => {
    if (svc.child.exitCode === null && svc.child.signalCode === null) {
      svc.child.kill('SIGKILL');
      await svc.exited;
    }
  });
  const listening = await svc.waitLog((l) => l.msg === 'dispatchd listening', 120_000);
  const wsUrl = listening.address!.replace(/^http/, 'ws');

  // The victim: the master serving the first history stream's slot (the flushes of that stream's couriers
  // append there; the master also holds about a third of the slots, so of the couriers' hashes and cells).
  const seed = cluster.nodes[0];
  const stream = historyStreamKeys(DEFAULT_CLUSTER_HISTORY_STREAMS)[0];
  const slot = Number(await onNode(seed, (r) => r.call('CLUSTER', 'KEYSLOT', `${ctx.keyPrefix}${stream}`)));
  const lines = await clusterNodes(seed);
  const victim = lines.find((l) => l.master && l.slots.some(([a, b]) => slot >= a && slot <= b))!;
  const replica = lines.find((l) => !l.master && l.masterId === victim.id)!;
  t.ok(victim && replica, `${stream} (slot ${slot}) is on the master at port ${victim.port}, its replica at ${replica.port}`);
  const victimProc = cluster.processes.find((p) => p.node.port === victim.port)!;
  const replicaNode = cluster.processes.find((p) => p.node.port === replica.port)!.node;

  const prefix = 'fo-';
  // couriers spread ~0.5° north-south: several dispatch zones, so hashes and cells live on every shard
  const fleet = new Fleet({ wsUrl, prefix, count: 30, token: (id) => signer.jwt.sign({ sub: id, role: 'courier' }), origin: { lat: 52.2, lng: 13.4 } });
  t.teardown(() => fleet.stop());
  await fleet.start();
  t.ok((await fleet.ackedAtLeast(3000)) >= 3000, 'load is flowing before the kill');

  const killedAt = Date.now();
  const pid = victimProc.child.pid!;
  process.kill(pid, 'SIGKILL');
  while (processAlive(pid)) await sleep(10);

  await until('the replica is promoted', async () => (await role(replicaNode)) === 'master', 20_000, 50);
  const promotedMs = Date.now() - killedAt;
  t.pass(`replica at port ${replica.port} promoted to master ${promotedMs} ms after the kill (cluster-node-timeout ${NODE_TIMEOUT_MS} ms)`);

  // Every courier acked again after its last error frame, well after the promotion.
  await until(
    'every courier acked after the failover',
    () => fleet.couriers.every((c) => c.lastAckAt > killedAt && c.lastAckAt > c.lastErrorAt + 500),
    30_000,
  );
  await sleep(1000);
  fleet.stop();

  // A flush caught by the failover either fails (the cluster client gave up on the dead master: the courier
  // gets store_unavailable and resends) or waits in the client's queue until the slot map names the promoted
  // replica (the ack comes late). Either way nothing but store_unavailable may reach a courier.
  const errors = fleet.errorLog.filter((e) => e.at >= killedAt);
  const codes = [...new Set(fleet.errorLog.map((e) => e.code))];
  t.ok(codes.every((c) => c === 'store_unavailable'), `error frames: ${codes.length ? codes.join(', ') : 'none'} (only store_unavailable allowed)`);
  if (errors.length > 0) {
    const lastErrorMs = Math.max(...errors.map((e) => e.at)) - killedAt;
    t.ok(lastErrorMs <= MAX_UNAVAILABLE_MS, `store_unavailable frames (${errors.length}) from ${Math.min(...errors.map((e) => e.at)) - killedAt} to ${lastErrorMs} ms after the kill`);
  } else {
    t.comment('no store_unavailable frame: every flush caught by the failover waited for the promoted replica and was acked late');
  }
  // per courier: the longest time without an ack around the failover (ingest stalled), and when it ended
  const stalls = fleet.couriers.map((c) => {
    const times = [...c.ackedAt.values(), ...fleet.errorLog.filter((e) => e.courierId === c.id).map((e) => e.at)]
      .filter((x) => x >= killedAt - 1000)
      .sort((x, y) => x - y);
    let gap = 0;
    let endedAt = 0;
    for (let i = 1; i < times.length; i++) {
      if (times[i] - times[i - 1] > gap) [gap, endedAt] = [times[i] - times[i - 1], times[i]];
    }
    return { gap, endedMs: endedAt - killedAt };
  });
  const gaps = stalls.map((x) => x.gap).sort((x, y) => x - y);
  const ends = stalls.map((x) => x.endedMs).sort((x, y) => x - y);
  const worst = gaps[gaps.length - 1];
  t.ok(
    worst <= MAX_UNAVAILABLE_MS && ends[ends.length - 1] <= MAX_UNAVAILABLE_MS + 1000,
    `longest stall per courier: median ${gaps[gaps.length >> 1]} ms, max ${worst} ms (≤ ${MAX_UNAVAILABLE_MS} ms); acks flowing again ${ends[0]}–${ends[ends.length - 1]} ms after the kill`,
  );
  const withErrors = new Set(errors.map((e) => e.courierId)).size;
  t.comment(`${withErrors} of ${fleet.couriers.length} couriers got store_unavailable; last acked point before the kill ${killedAt - Math.max(...fleet.couriers.flatMap((c) => [...c.ackedAt.values()].filter((x) => x <= killedAt)))} ms before it`);
  t.same(fleet.closes, [], 'no socket was closed');
  t.equal(svc.child.exitCode, null, 'the same service process still runs');

  await historyCaughtUp(ctx.db, fleet, prefix, 30_000);
  // frames still unanswered when the fleet stopped may land after the acked ones: wait until history is still
  let check = await checkHistory(ctx.db, fleet, prefix);
  for (let i = 0; i < 20; i++) {
    await sleep(500);
    const next = await checkHistory(ctx.db, fleet, prefix);
    if (next.stored === check.stored) break;
    check = next;
  }
  t.equal(check.duplicates, 0, 'no point stored twice');
  const early = check.missing.filter((m) => m.ackedAt < killedAt - REPLICATION_WINDOW_MS);
  const late = check.missing.filter((m) => m.ackedAt > killedAt);
  t.same(early.slice(0, 5), [], `no point acked more than ${REPLICATION_WINDOW_MS} ms before the kill is lost (${early.length})`);
  t.same(late.slice(0, 5), [], `no point acked after the kill is lost (${late.length})`);
  const lostAges = check.missing.map((m) => killedAt - m.ackedAt);
  t.comment(
    `acked ${check.acked}, stored ${check.stored}, lost (acked, not in courier_positions) ${check.missing.length}` +
      (lostAges.length ? `, acked ${Math.min(...lostAges)}–${Math.max(...lostAges)} ms before the kill, couriers ${new Set(check.missing.map((m) => m.courierId)).size}` : ''),
  );

  // Then the promoted replica dies too: its slots have no node left, nothing can take over. Every frame is
  // still answered, with store_unavailable, within the client's retry budget (no hang), sockets stay open.
  const fleet2 = new Fleet({ wsUrl, prefix: 'fo2-', count: 10, token: (id) => signer.jwt.sign({ sub: id, role: 'courier' }), origin: { lat: 52.2, lng: 13.4 } });
  t.teardown(() => fleet2.stop());
  await fleet2.start();
  await fleet2.ackedAtLeast(500);
  const promotedProc = cluster.processes.find((p) => p.node.port === replica.port)!;
  const downAt = Date.now();
  process.kill(promotedProc.child.pid!, 'SIGKILL');
  // measured 1.6 s and 12.9 s (a flush can wait in the cluster client's offline queue: see docs/scaling.md)
  await until('every courier told store_unavailable', () => fleet2.couriers.every((c) => c.lastErrorAt > downAt), 20_000, 50);
  const firstErrs = fleet2.couriers.map((c) => Math.min(...fleet2.errorLog.filter((e) => e.courierId === c.id && e.at > downAt).map((e) => e.at)) - downAt);
  t.pass(`no node left for the slots: every courier got store_unavailable ${Math.min(...firstErrs)}–${Math.max(...firstErrs)} ms after the kill`);
  t.same([...new Set(fleet2.errorLog.map((e) => e.code))], ['store_unavailable'], 'and no other error frame');
  // answers keep coming (each courier is told again: its resent frames are answered too, not left hanging)
  const firstAt = new Map(fleet2.couriers.map((c) => [c.id, c.lastErrorAt]));
  await until('every courier told store_unavailable again', () => fleet2.couriers.every((c) => c.lastErrorAt > firstAt.get(c.id)!), 20_000, 50);
  t.pass(`frames keep being answered store_unavailable while the slots are down (${fleet2.errorLog.filter((e) => e.at > downAt).length} frames)`);
  t.same(fleet2.closes, [], 'no socket was closed');
  fleet2.stop();

  svc.child.kill('SIGTERM');
  const exit = await svc.exited;
  t.equal(exit.signal, null, `the service exits on SIGTERM with part of Redis gone (code ${exit.code})`);
});
