import t from 'tap';
import calculateSlot from 'cluster-key-slot';
import {
  CLUSTER_SLOTS,
  historyStreamIndex,
  historyStreamKeys,
  historyStreamTag,
  MAX_HISTORY_STREAMS,
  resolveHistoryStreams,
} from '../../src/store/redis/history-streams.js';

t.test('HISTORY_STREAMS 0 is automatic: one stream on one Redis, 16 on a cluster; a setting is kept', async (t) => {
  t.equal(resolveHistoryStreams(0, false), 1);
  t.equal(resolveHistoryStreams(0, true), 16);
  t.equal(resolveHistoryStreams(1, true), 1);
  t.equal(resolveHistoryStreams(5, false), 5);
});

t.test('one stream is the historical loc:stream (single-Redis deployments keep their key)', async (t) => {
  t.same(historyStreamKeys(1), ['loc:stream']);
});

t.test('N streams: distinct keys, each its own hash tag, slots spread over N equal slot ranges', async (t) => {
  for (const n of [2, 3, 4, 16, 100, MAX_HISTORY_STREAMS]) {
    const keys = historyStreamKeys(n);
    t.equal(new Set(keys).size, n, `${n} distinct keys`);
    const slots = keys.map((key) => {
      t.match(key, /^loc:stream:\{s\d+(\.\d+)?\}$/);
      return calculateSlot(key);
    });
    // stream k lies in the middle half of the k-th of n ranges, so ranges of other streams are never used
    const width = CLUSTER_SLOTS / n;
    const misplaced = slots.filter((slot, k) => slot < k * width + width / 4 || slot >= (k + 1) * width - width / 4);
    t.same(misplaced, [], `every slot inside its range (n = ${n})`);
  }
  // a 3-master cluster made by `redis-cli --cluster create` owns 0–5460, 5461–10922, 10923–16383
  const owner = (slot: number) => (slot <= 5460 ? 0 : slot <= 10922 ? 1 : 2);
  t.same(historyStreamKeys(3).map((key) => owner(calculateSlot(key))), [0, 1, 2], 'three streams: one per master of an even 3-master cluster');
  const perMaster = [0, 0, 0];
  for (const key of historyStreamKeys(16)) perMaster[owner(calculateSlot(key))]++;
  t.ok(Math.max(...perMaster) - Math.min(...perMaster) <= 1, `16 streams spread evenly over 3 masters (${perMaster.join('/')})`);
  t.equal(historyStreamTag(0, 16), historyStreamKeys(16)[0].slice('loc:stream:{'.length, -1), 'the key carries the tag');
  t.throws(() => historyStreamTag(3, 3));
  t.throws(() => historyStreamTag(0, 0));
});

t.test('a courier always goes to the same stream; couriers spread evenly', async (t) => {
  t.equal(historyStreamIndex('anyone', 1), 0);
  const n = 16;
  const counts = new Array<number>(n).fill(0);
  const bad: string[] = [];
  for (let i = 0; i < 16_000; i++) {
    const id = `courier-${i}`;
    const k = historyStreamIndex(id, n);
    if (!Number.isInteger(k) || k < 0 || k >= n || historyStreamIndex(id, n) !== k) bad.push(`${id} → ${k}`);
    else counts[k]++;
  }
  t.same(bad, [], 'always one of the n streams, the same one every time');
  t.ok(Math.min(...counts) > 850 && Math.max(...counts) < 1150, `even spread over 16 (${counts.join(', ')})`);
  // FNV-1a of the id: the choice decides which stream a courier's points wait in, so it must not drift
  t.same(['k1', 'k2', 'ünï-cødé 🚲', ''].map((id) => historyStreamIndex(id, 16)), [1, 8, 10, 5]);
  t.equal(historyStreamIndex('courier-1', 1000), 246);
});
