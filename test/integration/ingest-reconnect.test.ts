/**
 * Issue 11: duplicate detection survives a reconnect. The courier's window of accepted seqs is restored
 * from Redis when it connects again, so a re-sent seq is a duplicate whatever its ts, and history holds
 * each seq once. Real app, Redis, Postgres and sockets.
 */
import t from 'tap';
import { createTestContext, buildTestApp } from '../support/index.js';
import { CourierClient, storedRows, waitFor } from './ingest-helpers.js';

const ctx = await createTestContext(t, { HISTORY_FLUSH_MS: '20' });
const { wsUrl, token } = await buildTestApp(ctx);

t.test('after a reconnect a re-sent seq gets duplicate_seq even with a re-stamped ts; a never-accepted seq is still taken', async (t) => {
  const start = Date.now() - 60_000;
  const point = (seq: number, ts = start + seq * 1000) => ({ seq, ts, lat: 48.3, lng: 2.3 + seq * 1e-5 });
  const first = await CourierClient.connect(wsUrl, token('courier', 'rc1'));
  // 1..10 except 7 (still buffered on the device, say)
  const ack = await first.request({ type: 'locs', points: [1, 2, 3, 4, 5, 6, 8, 9, 10].map((s) => point(s)) });
  t.same(ack, { type: 'ack', seq: 10, rejected: [] });
  first.close();
  await first.closed;

  const again = await CourierClient.connect(wsUrl, token('courier', 'rc1'));
  t.teardown(() => again.close());
  const resent = await again.request({ type: 'locs', points: [point(3, start + 50_000), point(9), point(7), point(11)] });
  t.same(
    resent,
    {
      type: 'ack',
      seq: 11,
      rejected: [
        { seq: 3, reason: 'duplicate_seq' },
        { seq: 9, reason: 'duplicate_seq' },
      ],
    },
    'seqs accepted before the reconnect are duplicates; 7 and 11 are new',
  );
  const rows = await waitFor(
    () => storedRows(ctx.db, 'rc1'),
    (r) => r.length >= 11,
  );
  t.same(
    rows.map((r) => r.seq),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
    'each seq stored once',
  );
});
