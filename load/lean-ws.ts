/**
 * A lean WebSocket client for the load generator (not for the service): RFC 6455 over a plain TCP socket,
 * just what a simulated courier needs — the upgrade handshake (checked), masked text frames out (a zero
 * mask, which is valid and spares the XOR), unmasked frames in (text/binary, ping → pong, close), no
 * extensions, no fragmentation out (the service does not fragment its replies; a fragmented one is
 * reassembled anyway).
 *
 * Why: the generator shares the 2 cores with the service it measures, and `ws` spends most of the
 * generator's CPU on its stream machinery — per frame sent a cork, two writes and an uncork (a writev);
 * per frame received a Writable stream write, a parser loop and two event emits. Here a frame is ONE
 * Buffer and one `socket.write` out, and frames in are parsed straight from the 'data' chunk. Same bytes
 * on the wire as `ws` with `generateMask: zero`, so the service sees the real protocol over real sockets.
 */
import { connect, type Socket } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const EMPTY: Buffer = Buffer.alloc(0);

export class LeanWebSocket {
  static readonly OPEN = 1;
  static readonly CLOSED = 3;
  readyState = LeanWebSocket.OPEN;
  /** A whole text or binary message (the payload; valid only during the call). */
  onMessage: (data: Buffer) => void = () => {};
  onClose: () => void = () => {};
  private carry: Buffer = EMPTY;
  private fragments: Buffer[] = [];

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('close', () => {
      if (this.readyState === LeanWebSocket.CLOSED) return;
      this.readyState = LeanWebSocket.CLOSED;
      this.onClose();
    });
    socket.on('error', () => socket.destroy());
  }

  /** Opens `url` (ws://host:port/path) with extra request headers; resolves once the server answered 101. */
  static connect(url: string, headers: Record<string, string>): Promise<LeanWebSocket> {
    const u = new URL(url);
    const key = randomBytes(16).toString('base64');
    const expected = createHash('sha1').update(key + GUID).digest('base64');
    return new Promise((resolve, reject) => {
      const socket = connect(Number(u.port || 80), u.hostname);
      socket.setNoDelay(true);
      socket.once('error', reject);
      socket.once('connect', () => {
        const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
        socket.write(
          `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
        );
      });
      let head: Buffer = EMPTY;
      const onHead = (chunk: Buffer) => {
        head = head.length ? Buffer.concat([head, chunk]) : chunk;
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onHead);
        socket.off('error', reject);
        const text = head.subarray(0, end).toString('latin1');
        const accept = /\r\nsec-websocket-accept:\s*(\S+)/i.exec(text)?.[1];
        if (!text.startsWith('HTTP/1.1 101') || accept !== expected) {
          socket.destroy();
          reject(new Error(`WebSocket upgrade refused: ${text.split('\r\n')[0]}`));
          return;
        }
        const ws = new LeanWebSocket(socket);
        resolve(ws);
        const rest = head.subarray(end + 4);
        if (rest.length > 0) ws.receive(rest);
      };
      socket.on('data', onHead);
    });
  }

  /** Sends a text frame; `text` must be ASCII (the generator's frames are). */
  send(text: string): void {
    if (this.readyState !== LeanWebSocket.OPEN) return;
    this.socket.write(frame(0x1, text));
  }

  close(): void {
    if (this.readyState !== LeanWebSocket.OPEN) return;
    this.readyState = LeanWebSocket.CLOSED;
    this.socket.end(frame(0x8, '\x03\xe8'));
    this.onClose();
  }

  private receive(chunk: Buffer): void {
    let buf = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    let at = 0;
    for (;;) {
      if (buf.length - at < 2) break;
      const b0 = buf[at];
      let len = buf[at + 1] & 0x7f;
      let head = 2;
      if (len === 126) {
        if (buf.length - at < 4) break;
        len = buf.readUInt16BE(at + 2);
        head = 4;
      } else if (len === 127) {
        if (buf.length - at < 10) break;
        len = Number(buf.readBigUInt64BE(at + 2));
        head = 10;
      }
      if (buf.length - at < head + len) break;
      const payload = buf.subarray(at + head, at + head + len);
      at += head + len;
      this.frameIn(b0 & 0x80, b0 & 0x0f, payload);
    }
    this.carry = at === buf.length ? EMPTY : Buffer.from(buf.subarray(at));
    buf = EMPTY;
  }

  private frameIn(fin: number, opcode: number, payload: Buffer): void {
    if (opcode === 0x9) return void this.socket.write(frame(0xa, payload.toString('latin1')));
    if (opcode === 0xa) return;
    if (opcode === 0x8) {
      if (this.readyState === LeanWebSocket.OPEN) this.close();
      return;
    }
    if (!fin || (opcode === 0x0 && this.fragments.length > 0)) {
      this.fragments.push(Buffer.from(payload));
      if (!fin) return;
      payload = Buffer.concat(this.fragments);
      this.fragments = [];
    }
    this.onMessage(payload);
  }
}

/** One masked client frame (zero mask: the payload goes out as is) in one Buffer. */
function frame(opcode: number, text: string): Buffer {
  const len = text.length;
  const head = len < 126 ? 6 : len < 65536 ? 8 : 14;
  const out = Buffer.allocUnsafe(head + len);
  out[0] = 0x80 | opcode;
  if (len < 126) out[1] = 0x80 | len;
  else if (len < 65536) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeBigUInt64BE(BigInt(len), 2);
  }
  out.writeUInt32BE(0, head - 4);
  out.write(text, head, 'latin1');
  return out;
}
