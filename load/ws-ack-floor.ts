/**
 * The floor under bench:ingest on this machine (not a test): a bare `ws` server that answers every courier
 * frame with a clean ack at once — no auth, no filters, no Redis, no Postgres. Run the benchmark against it:
 *
 *   npx tsx load/ws-ack-floor.ts --port 9911 &
 *   JWT_SECRET=unused npm run bench:ingest -- --url http://127.0.0.1:9911 --couriers 2000 --hz 20 --seconds 30 --json out/floor.json
 *
 * Whatever ack latency and CPU per update it shows is what sockets, frames and the load generator cost by
 * themselves (its `stored`/`lost` figures mean nothing: it stores nothing). Stops on SIGTERM/SIGINT.
 */
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { WebSocketServer } from 'ws';

const { values: args } = parseArgs({ options: { port: { type: 'string', default: '9911' } } });
const server = createServer((_req, res) => res.writeHead(200).end('ok'));
const wss = new WebSocketServer({ server, path: '/v1/courier', perMessageDeflate: false });
wss.on('connection', (socket) => {
  socket.on('message', (data: Buffer) => {
    const frame = JSON.parse(data.toString('utf8')) as { seq?: number };
    socket.send(`{"type":"ack","seq":${frame.seq ?? null},"rejected":[]}`);
  });
});
server.listen(Number(args.port), '127.0.0.1', () => process.stderr.write(`ack floor listening on ${args.port}, pid ${process.pid}\n`));
const stop = () => {
  for (const client of wss.clients) client.terminate();
  server.close(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
