import { deflateSync } from 'node:zlib';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (the zlib/PNG one, polynomial 0xEDB88320). */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  Buffer.from(data).copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/**
 * An 8-bit greyscale PNG of `width*height` grey levels (row-major).
 * @example encodeGreyPng(2, 1, Uint8Array.from([0, 255])); // a black and a white pixel
 */
export function encodeGreyPng(width: number, height: number, grey: Uint8Array): Buffer {
  if (!(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0)) {
    throw new Error(`PNG size must be positive integers (got ${width}x${height})`);
  }
  if (grey.length !== width * height) {
    throw new Error(
      `PNG pixels must hold width*height = ${width * height} values (got ${grey.length})`,
    );
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // colour type: greyscale
  const raw = Buffer.alloc(height * (width + 1)); // filter byte 0 (none) per row
  for (let r = 0; r < height; r++) {
    Buffer.from(grey.buffer, grey.byteOffset + r * width, width).copy(raw, r * (width + 1) + 1);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

/** Grey levels 0..255 of an image in [-1, 1] (the engine's range). */
export function toGrey(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    out[i] = Math.round(Math.min(1, Math.max(0, (values[i] + 1) / 2)) * 255);
  }
  return out;
}

/**
 * Tiles `count` square `size`-pixel images into a grid of `cols` columns with `gap` pixels
 * of `background` between them; returns the grid and its size.
 */
export function tileGrey(
  tiles: readonly Uint8Array[],
  size: number,
  cols: number,
  gap = 0,
  background = 255,
): { width: number; height: number; grey: Uint8Array } {
  const rows = Math.max(1, Math.ceil(tiles.length / cols));
  const width = cols * size + (cols - 1) * gap;
  const height = rows * size + (rows - 1) * gap;
  const grey = new Uint8Array(width * height).fill(background);
  tiles.forEach((tile, k) => {
    const x0 = (k % cols) * (size + gap);
    const y0 = Math.floor(k / cols) * (size + gap);
    for (let r = 0; r < size; r++) {
      grey.set(tile.subarray(r * size, (r + 1) * size), (y0 + r) * width + x0);
    }
  });
  return { width, height, grey };
}
