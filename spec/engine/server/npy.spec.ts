import { expect } from 'chai';
import { parseShapes, readNpy, readRawFloat32 } from '../../../engine/server/npy.js';
import { npyBytes } from './ingest-helpers.js';

/** A .npy file with any header text and data bytes (format `major`). */
function npy(header: string, data: Buffer, major = 1): Buffer {
  const lenBytes = major === 1 ? 2 : 4;
  const head = Buffer.alloc(8 + lenBytes);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]).copy(head);
  if (major === 1) head.writeUInt16LE(header.length, 8);
  else head.writeUInt32LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), data]);
}
const hdr = (descr: string, shape: string, fortran = 'False') =>
  `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }\n`;

describe('engine/server/npy', () => {
  it('reads float32 and float64 arrays back to back, as numpy.save writes them', () => {
    const a = npyBytes([2, 3], [1, 2, 3, 4, 5, 6]);
    const b = npyBytes([4], [0.5, -1, 1e-3, 7], '<f8');
    const body = Buffer.concat([a, b]);
    const r1 = readNpy(body, 0, 'a');
    expect(r1.array.shape).to.deep.equal([2, 3]);
    expect(Array.from(r1.array.data)).to.deep.equal([1, 2, 3, 4, 5, 6]);
    expect(r1.end).to.equal(a.length);
    const r2 = readNpy(body, r1.end, 'b');
    expect(r2.array.shape).to.deep.equal([4]);
    expect(Array.from(r2.array.data)).to.deep.equal([0.5, -1, Math.fround(1e-3), 7]);
    expect(r2.end).to.equal(body.length);
  });

  it('converts integer, bool, half and big-endian dtypes; reads format 2.0 headers', () => {
    const i8 = Buffer.alloc(16);
    i8.writeBigInt64LE(-3n, 0);
    i8.writeBigInt64LE(9n, 8);
    expect(Array.from(readNpy(npy(hdr('<i8', '(2,)'), i8), 0, 'x').array.data)).to.deep.equal([
      -3, 9,
    ]);
    const u1 = Buffer.from([0, 128, 255]);
    expect(Array.from(readNpy(npy(hdr('|u1', '(3,)'), u1), 0, 'x').array.data)).to.deep.equal([
      0, 128, 255,
    ]);
    expect(
      Array.from(readNpy(npy(hdr('|b1', '(2,)'), Buffer.from([1, 0])), 0, 'x').array.data),
    ).to.deep.equal([1, 0]);
    const f2 = Buffer.alloc(4);
    f2.writeUInt16LE(0x3c00, 0); // 1.0
    f2.writeUInt16LE(0xc000, 2); // -2.0
    expect(Array.from(readNpy(npy(hdr('<f2', '(2,)'), f2), 0, 'x').array.data)).to.deep.equal([
      1, -2,
    ]);
    const be = Buffer.alloc(8);
    be.writeFloatBE(1.5, 0);
    be.writeFloatBE(-4, 4);
    expect(Array.from(readNpy(npy(hdr('>f4', '(1, 2)'), be, 2), 0, 'x').array.data)).to.deep.equal([
      1.5, -4,
    ]);
    const scalar = readNpy(
      npy(hdr('<f4', '()'), Buffer.from(new Float32Array([3]).buffer)),
      0,
      'x',
    );
    expect(scalar.array.shape).to.deep.equal([]);
  });

  it('names the array and the problem on bad input', () => {
    const data = Buffer.alloc(8);
    expect(() => readNpy(Buffer.from('PK\x03\x04 a zip'), 0, 'labels')).to.throw(
      /^labels: not a \.npy array/,
    );
    expect(() => readNpy(npy(hdr('<f4', '(2,)'), data, 4), 0, 'x')).to.throw(/format version 4/);
    expect(() => readNpy(npy(hdr('<f4', '(2,)', 'True'), data), 0, 'images')).to.throw(
      /^images: fortran_order arrays are not accepted/,
    );
    expect(() => readNpy(npy(hdr('<c8', '(1,)'), data), 0, 'x')).to.throw(
      /dtype '<c8' is not accepted/,
    );
    expect(() => readNpy(npy(hdr('<U3', '(1,)'), data), 0, 'x')).to.throw(/dtype '<U3'/);
    expect(() => readNpy(npy(hdr('<f4', '(3,)'), data), 0, 'activations')).to.throw(
      /^activations: .npy data of shape \(3\) needs 12 bytes, the body has 8/,
    );
    expect(() => readNpy(npy("{'descr': '<f4'}", data), 0, 'x')).to.throw(
      /lacks descr, fortran_order or shape/,
    );
  });

  it('reads raw float32 with shapes and parses shape headers', () => {
    const shapes = parseShapes(' labels=2x2 ;images=2x1 ');
    expect(shapes).to.deep.equal([
      { name: 'labels', shape: [2, 2] },
      { name: 'images', shape: [2, 1] },
    ]);
    const bytes = new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer);
    const r = readRawFloat32(bytes, shapes);
    expect(Array.from(r.labels.data)).to.deep.equal([1, 2, 3, 4]);
    expect(Array.from(r.images.data)).to.deep.equal([5, 6]);
    expect(() => readRawFloat32(bytes.subarray(4), shapes)).to.throw(
      /body has 20 bytes, the shapes \(labels=2x2; images=2x1\) need 24/,
    );
    expect(() => parseShapes('labels=2x')).to.throw(/"labels=2x" is not name=AxBx/);
  });
});
