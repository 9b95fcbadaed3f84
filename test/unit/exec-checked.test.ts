import t from 'tap';
import { execChecked } from '../../src/store/redis/batch.js';

const tx = (results: [Error | null, unknown][] | null) => ({ exec: async () => results });

t.test('execChecked: the values in order when every command succeeded', async (t) => {
  t.same(await execChecked(tx([[null, 1], [null, 'OK']])), [1, 'OK']);
});

t.test('execChecked: the first per-command error is thrown (ioredis resolves exec() with it)', async (t) => {
  const moved = new Error('MOVED 653 127.0.0.1:7001');
  await t.rejects(execChecked(tx([[null, 1], [moved, null], [new Error('WRONGTYPE'), null]])), moved);
});

t.test('execChecked: an aborted transaction (exec() resolved with null) is an error', async (t) => {
  await t.rejects(execChecked(tx(null)), /EXECABORT/);
});
