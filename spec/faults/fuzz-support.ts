import { connect, type Socket } from 'node:net';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';

/** A full garbage collection, with or without `--expose-gc`. */
export const collect: () => void = (() => {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

/** Heap in use after two full collections, in MB. */
export function settledHeapMb(): number {
  collect();
  collect();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

/**
 * Sends `data` on a fresh connection; resolves when the server closes it, the reply's head
 * is complete, or `waitMs` pass, with the status line ('' when none).
 */
export function send(
  port: number,
  data: Buffer,
  opts: { waitMs?: number; reset?: boolean } = {},
): Promise<string> {
  return new Promise((resolve) => {
    const socket: Socket = connect(port, '127.0.0.1');
    let got = '';
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(got.split('\r\n')[0]);
    };
    const timer = setTimeout(finish, opts.waitMs ?? 150);
    socket.on('error', finish);
    socket.on('close', finish);
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.includes('\r\n\r\n') && !got.startsWith('HTTP/1.1 101')) finish();
    });
    socket.on('connect', () =>
      socket.write(data, () => {
        if (opts.reset) {
          socket.resetAndDestroy();
          finish();
        }
      }),
    );
  });
}

/**
 * Opens a WebSocket by hand on a raw socket, writes `frames` (already encoded) and waits
 * `waitMs`; resolves with the bytes the server sent back after the handshake.
 */
export function sendFrames(port: number, frames: Buffer, waitMs = 30): Promise<number> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let bytes = 0;
    let open = false;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve(bytes);
    };
    socket.on('error', finish);
    socket.on('close', finish);
    socket.on('data', (d: Buffer) => {
      if (!open) {
        open = true;
        socket.write(frames);
        setTimeout(finish, waitMs);
      } else bytes += d.length;
    });
    socket.on('connect', () =>
      socket.write(
        'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
          'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      ),
    );
    setTimeout(finish, 2000);
  });
}

/** One client→server WebSocket frame (masked, as clients must), with any header bits. */
export function frame(opts: {
  fin: boolean;
  rsv: number;
  opcode: number;
  payload: Buffer;
  masked: boolean;
  /** Claim this length instead of the payload's (a lie the server must survive). */
  claimed?: number;
}): Buffer {
  const len = opts.claimed ?? opts.payload.length;
  const head: number[] = [(opts.fin ? 0x80 : 0) | ((opts.rsv & 7) << 4) | (opts.opcode & 15)];
  const mask = opts.masked ? 0x80 : 0;
  let ext = Buffer.alloc(0);
  if (len < 126) head.push(mask | len);
  else if (len < 65536) {
    head.push(mask | 126);
    ext = Buffer.alloc(2);
    ext.writeUInt16BE(len);
  } else {
    head.push(mask | 127);
    ext = Buffer.alloc(8);
    ext.writeBigUInt64BE(BigInt(len));
  }
  const key = Buffer.from([1, 2, 3, 4]);
  const body = Buffer.from(opts.payload);
  if (opts.masked) for (let i = 0; i < body.length; i++) body[i] ^= key[i & 3];
  return Buffer.concat([Buffer.from(head), ext, opts.masked ? key : Buffer.alloc(0), body]);
}
