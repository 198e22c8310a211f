import { request as httpRequest } from 'node:http';

/** `.npy` bytes (format 1.0, C order) of a float32 or float64 array, as numpy.save writes them. */
export function npyBytes(
  shape: number[],
  values: ArrayLike<number>,
  descr: '<f4' | '<f8' = '<f4',
): Buffer {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const head = Buffer.alloc(10);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(head);
  head.writeUInt16LE(header.length, 8);
  const size = descr === '<f4' ? 4 : 8;
  const data = Buffer.alloc(values.length * size);
  for (let i = 0; i < values.length; i++) {
    if (size === 4) data.writeFloatLE(values[i], i * 4);
    else data.writeDoubleLE(values[i], i * 8);
  }
  return Buffer.concat([head, Buffer.from(header, 'latin1'), data]);
}

export interface Reply {
  status: number;
  text: string;
  json: () => unknown;
  headers: Record<string, string | string[] | undefined>;
}

/** One HTTP request to a test server (node:http, so any Host or Origin header can be sent). */
export function request(
  port: number,
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; body?: string | Buffer | object } = {},
): Promise<Reply> {
  const body =
    opts.body === undefined
      ? undefined
      : typeof opts.body === 'string' || Buffer.isBuffer(opts.body)
        ? opts.body
        : JSON.stringify(opts.body);
  const headers: Record<string, string> = {
    ...(opts.body !== undefined && typeof opts.body === 'object' && !Buffer.isBuffer(opts.body)
      ? { 'content-type': 'application/json' }
      : {}),
    ...opts.headers,
  };
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({
          status: res.statusCode ?? 0,
          text,
          json: () => JSON.parse(text),
          headers: res.headers,
        });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** N labels spread over a size×size canvas and bump images at them (background -1, peak +1). */
export function bumpSnapshot(n: number, size: number, seed: number, noisy = false) {
  let s = seed;
  const rand = () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  const labels = new Float32Array(n * 2);
  const images = new Float32Array(n * size * size);
  const dim = 6;
  const activations = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const x = Math.floor(rand() * size);
    const y = Math.floor(rand() * size);
    labels[2 * i] = x;
    labels[2 * i + 1] = y;
    for (let r = 0; r < size; r++) {
      for (let c = 0; c < size; c++) {
        images[i * size * size + r * size + c] = noisy
          ? rand() * 2 - 1
          : 2 * Math.exp(-((c - x) ** 2 + (r - y) ** 2) / 2) - 1;
      }
    }
    const f = noisy
      ? [rand(), rand(), rand(), rand(), rand(), rand()]
      : [x, y, x + y, x - y, Math.sin(x), Math.cos(y)];
    activations.set(f, i * dim);
  }
  return { labels, images, activations, dim };
}
