/**
 * A TCP proxy in front of a real server (PostgreSQL here) that a test can break: `down()` drops every
 * connection and refuses new ones (server stopped), `blackhole()` accepts connections and never answers
 * (network partition), `up()` forwards again. Real sockets, no mock of the client library.
 */
import net from 'node:net';

export interface FaultProxy {
  port: number;
  down(): void;
  blackhole(): void;
  up(): void;
  close(): Promise<void>;
}

export async function faultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  let mode: 'up' | 'down' | 'blackhole' = 'up';
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    if (mode === 'down') return client.destroy();
    if (mode === 'blackhole') return; // accepted, never answered
    const upstream = net.connect(target.port, target.host);
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const dropAll = () => {
    for (const s of sockets) s.destroy();
    sockets.clear();
  };
  return {
    port,
    down() {
      mode = 'down';
      dropAll();
    },
    blackhole() {
      mode = 'blackhole';
      dropAll();
    },
    up() {
      mode = 'up';
      dropAll();
    },
    async close() {
      dropAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
