import { readFileSync } from 'node:fs';

/** Big arrays of one snapshot, stored as `snapshots/<step>.bin`. */
export interface SnapshotArrays {
  labels: Float32Array;
  images: Float32Array;
  activations: Float32Array;
}

// Snapshot file: 4-byte little-endian header length, JSON header, then float32 arrays.
export function encodeArrays(arrays: SnapshotArrays): Uint8Array {
  const names = ['labels', 'images', 'activations'] as const;
  const header = JSON.stringify(Object.fromEntries(names.map((n) => [n, arrays[n].length])));
  const head = Buffer.from(header);
  const pad = (4 - ((4 + head.length) % 4)) % 4;
  const bytes = Buffer.alloc(
    4 + head.length + pad + names.reduce((s, n) => s + arrays[n].byteLength, 0),
  );
  bytes.writeUInt32LE(head.length + pad, 0);
  head.copy(bytes, 4);
  bytes.fill(0x20, 4 + head.length, 4 + head.length + pad);
  let offset = 4 + head.length + pad;
  for (const n of names) {
    Buffer.from(arrays[n].buffer, arrays[n].byteOffset, arrays[n].byteLength).copy(bytes, offset);
    offset += arrays[n].byteLength;
  }
  return bytes;
}

/** Reads a `snapshots/<step>.bin` file back. */
export function readSnapshotArrays(file: string): SnapshotArrays {
  const bytes = readFileSync(file);
  const headLen = bytes.readUInt32LE(0);
  const lengths = JSON.parse(bytes.subarray(4, 4 + headLen).toString()) as Record<string, number>;
  let offset = 4 + headLen;
  const take = (n: number): Float32Array => {
    const out = new Float32Array(n);
    Buffer.from(out.buffer).set(bytes.subarray(offset, offset + n * 4));
    offset += n * 4;
    return out;
  };
  return {
    labels: take(lengths.labels),
    images: take(lengths.images),
    activations: take(lengths.activations),
  };
}
