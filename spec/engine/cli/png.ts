import { readFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';

/** Decodes an 8-bit, non-interlaced RGB or RGBA PNG (what chromium writes) into its pixels. */
export function readPng(file: string): {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
} {
  const buf = readFileSync(file);
  if (buf.toString('latin1', 1, 4) !== 'PNG') throw new Error(`${file} is not a PNG`);
  let pos = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    const body = buf.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      const depth = body[8];
      const colour = body[9];
      if (depth !== 8 || body[12] !== 0 || (colour !== 2 && colour !== 6)) {
        throw new Error(
          `${file}: only 8-bit non-interlaced RGB(A) is read (depth ${depth}, colour ${colour})`,
        );
      }
      channels = colour === 6 ? 4 : 3;
    } else if (type === 'IDAT') idat.push(body);
    pos += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const data = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? data[y * stride + x - channels] : 0;
      const b = y > 0 ? data[(y - 1) * stride + x] : 0;
      const c = x >= channels && y > 0 ? data[(y - 1) * stride + x - channels] : 0;
      let p = line[x];
      if (filter === 1) p += a;
      else if (filter === 2) p += b;
      else if (filter === 3) p += (a + b) >> 1;
      else if (filter === 4) {
        const q = a + b - c;
        const pa = Math.abs(q - a);
        const pb = Math.abs(q - b);
        const pc = Math.abs(q - c);
        p += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      data[y * stride + x] = p & 255;
    }
  }
  return { width, height, channels, data };
}

/** Distinct colours and the share of pixels that are not the most common colour (the background). */
export function inkStats(png: ReturnType<typeof readPng>): { colours: number; ink: number } {
  const counts = new Map<number, number>();
  for (let i = 0; i < png.width * png.height; i++) {
    const o = i * png.channels;
    const key = (png.data[o] << 16) | (png.data[o + 1] << 8) | png.data[o + 2];
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const most = Math.max(...counts.values());
  return { colours: counts.size, ink: 1 - most / (png.width * png.height) };
}
