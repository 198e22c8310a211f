import { connect } from 'node:net';

/** What came back for one raw request: the status line ('' if the socket closed first). */
export interface RawReply {
  status: string;
  bytes: number;
}

/**
 * Sends `data` as is over a fresh TCP connection and collects the reply until the server
 * closes the socket or `waitMs` passes. With `reset`, the connection is reset right after
 * sending (an RST, as a client that vanishes mid-request).
 */
export function rawRequest(
  port: number,
  data: string | Buffer,
  opts: { waitMs?: number; reset?: boolean } = {},
): Promise<RawReply> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ status: text.split('\r\n')[0], bytes: text.length });
    };
    const timer = setTimeout(finish, opts.waitMs ?? 1000);
    socket.on('error', finish);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('close', finish);
    socket.on('connect', () => {
      socket.write(data, () => {
        if (opts.reset) {
          socket.resetAndDestroy();
          finish();
        }
      });
    });
  });
}

/**
 * Sends `data` whole before reading anything, as Python's http.client and requests do: the
 * status line of the reply, or the error that ended the connection (`EPIPE`, `ECONNRESET`).
 */
export function sendThenRead(port: number, data: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.pause();
    const chunks: Buffer[] = [];
    const fail = (err: NodeJS.ErrnoException) => {
      socket.destroy();
      resolve(err.code ?? err.message);
    };
    socket.on('error', fail);
    socket.on('connect', () => {
      socket.write(data, (err) => {
        if (err) return fail(err);
        socket.on('data', (d: Buffer) => chunks.push(d));
        socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1').split('\r\n')[0]));
        socket.resume();
      });
    });
  });
}
