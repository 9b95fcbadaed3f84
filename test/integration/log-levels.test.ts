/**
 * Client faults are logged at info/warn, never error, and log lines never serialise client objects
 * (a pg client, a socket): what an operator pages on must be the service's own faults.
 */
import { Writable } from 'node:stream';
import t from 'tap';
import WebSocket from 'ws';
import { createLogger } from '../../src/logger.js';
import { createPool } from '../../src/store/pg/pool.js';
import { buildTestApp, createTestContext } from '../support/index.js';
import { waitFor } from './ingest-helpers.js';

interface Entry {
  level: number;
  msg: string;
  err?: unknown;
  code?: string;
  [k: string]: unknown;
}

function capture() {
  const lines: { entry: Entry; raw: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const raw of chunk.toString('utf8').split('\n')) if (raw) lines.push({ entry: JSON.parse(raw) as Entry, raw });
      cb();
    },
  });
  return { lines, log: createLogger({ level: 'trace', destination: sink }) };
}

const ctx = await createTestContext(t, { WS_MAX_FRAME_BYTES: '1024' });

t.test('an oversize courier frame: closed with 1009, logged at info with its code, no stack, nothing at error', async (t) => {
  const { lines, log } = capture();
  const { wsUrl, token } = await buildTestApp(ctx, { log });
  const ws = new WebSocket(`${wsUrl}/v1/courier`, { headers: { authorization: `Bearer ${token('courier', 'c-big')}` } });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  ws.send(JSON.stringify({ type: 'locs', points: Array.from({ length: 100 }, (_, i) => ({ seq: i, ts: Date.now(), lat: 1, lng: 1 })) }));
  t.equal(await closed, 1009);
  const fault = await waitFor(
    async () => lines.find((l) => l.entry.msg === 'websocket closed on a client fault'),
    (l) => l !== undefined,
  );
  t.equal(fault?.entry.level, 30, 'info');
  t.equal(fault?.entry.code, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
  t.match(fault?.entry, { route: '/v1/courier', sub: 'c-big' }, 'which socket, whose');
  t.equal(lines.filter((l) => /WS_ERR_/.test(l.raw)).length, 1, 'one line for one fault');
  t.notMatch(fault?.raw, /"stack"/, 'no stack trace for a client fault');
  t.same(lines.filter((l) => l.entry.level >= 50).map((l) => l.entry.msg), [], 'nothing at error');
});

t.test('a pg connection ended by the server (as at a shutdown) is a warn with the code, not the serialised client', async (t) => {
  const { lines, log } = capture();
  const pool = createPool(ctx.databaseUrl, { log, max: 1 });
  t.teardown(() => pool.end());
  const { rows } = await pool.query<{ pid: number }>('select pg_backend_pid() as pid');
  // The pool's one client is idle now; end its session from another connection (what a stopping server does).
  await ctx.db.query('select pg_terminate_backend($1)', [rows[0]!.pid]);
  const lost = await waitFor(
    async () => lines.find((l) => l.entry.msg === 'postgres idle connection lost'),
    (l) => l !== undefined,
  );
  t.equal(lost?.entry.level, 40, 'warn');
  t.equal(lost?.entry.code, '57P01');
  t.notMatch(lost?.raw, /connectionParameters|_events|"client"/, 'no pg client in the line');
  t.ok((lost?.raw.length ?? Infinity) < 400, `a short line (${lost?.raw.length} bytes)`);
  t.equal((await pool.query('select 1 as one')).rows[0].one, 1, 'the pool replaces the client');
});
