import { maskedCrc32c } from './crc32c.js';

/**
 * Frames one record as TFRecord does: uint64 length, masked CRC-32C of those 8 bytes, the
 * data, masked CRC-32C of the data (all little-endian).
 */
export function tfRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(16 + data.length);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}
