/**
 * Reading the arrays a trainer uploads: NumPy `.npy` files (format versions 1-3, C order,
 * any numeric dtype, converted to float32) and raw little-endian float32 with a given shape.
 */

/** An n-d array as float32, C order. */
export interface NdArray {
  shape: number[];
  data: Float32Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

type Getter = (view: DataView, offset: number, little: boolean) => number;
const DTYPES: Record<string, { size: number; get: Getter }> = {
  f2: { size: 2, get: (v, o, le) => float16(v.getUint16(o, le)) },
  f4: { size: 4, get: (v, o, le) => v.getFloat32(o, le) },
  f8: { size: 8, get: (v, o, le) => v.getFloat64(o, le) },
  i1: { size: 1, get: (v, o) => v.getInt8(o) },
  u1: { size: 1, get: (v, o) => v.getUint8(o) },
  b1: { size: 1, get: (v, o) => v.getUint8(o) },
  i2: { size: 2, get: (v, o, le) => v.getInt16(o, le) },
  u2: { size: 2, get: (v, o, le) => v.getUint16(o, le) },
  i4: { size: 4, get: (v, o, le) => v.getInt32(o, le) },
  u4: { size: 4, get: (v, o, le) => v.getUint32(o, le) },
  i8: { size: 8, get: (v, o, le) => Number(v.getBigInt64(o, le)) },
  u8: { size: 8, get: (v, o, le) => Number(v.getBigUint64(o, le)) },
};

function float16(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

const product = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Reads one `.npy` array starting at `offset` of `bytes`; returns it and where it ends, so
 * arrays sent back to back can be read one after the other. Throws a one-line error naming
 * `what` (e.g. `labels`) and the problem.
 *
 * @example const { array, end } = readNpy(body, 0, 'labels'); array.shape; // [64, 2]
 */
export function readNpy(
  bytes: Uint8Array,
  offset: number,
  what: string,
): { array: NdArray; end: number } {
  if (bytes.length - offset < 10 || MAGIC.some((m, i) => bytes[offset + i] !== m)) {
    throw new Error(`${what}: not a .npy array (no \\x93NUMPY magic at byte ${offset})`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[offset + 6];
  if (major < 1 || major > 3)
    throw new Error(`${what}: .npy format version ${major} is not 1, 2 or 3`);
  const headerLen =
    major === 1 ? view.getUint16(offset + 8, true) : view.getUint32(offset + 8, true);
  const headerStart = offset + (major === 1 ? 10 : 12);
  const dataStart = headerStart + headerLen;
  if (dataStart > bytes.length)
    throw new Error(`${what}: .npy header runs past the end of the body`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(
    bytes.subarray(headerStart, dataStart),
  );
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new Error(`${what}: .npy header lacks descr, fortran_order or shape`);
  }
  if (fortran === 'True') {
    throw new Error(
      `${what}: fortran_order arrays are not accepted (send np.ascontiguousarray(a))`,
    );
  }
  const m = /^([<>|=])([fiub]\d)$/.exec(descr);
  const dtype = m ? DTYPES[m[2]] : undefined;
  if (!m || !dtype) {
    throw new Error(
      `${what}: dtype '${descr}' is not accepted (float16/32/64, int8-64, uint8-64 or bool)`,
    );
  }
  const little = m[1] !== '>';
  const dims = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  // Decimal sizes only, as numpy writes them (Number() would also take `0x18` or `1e3`).
  if (dims.some((d) => !/^\d+$/.test(d))) {
    throw new Error(`${what}: .npy shape (${shapeText}) is not a tuple of sizes`);
  }
  const shape = dims.map(Number);
  const count = product(shape);
  const end = dataStart + count * dtype.size;
  if (end > bytes.length) {
    throw new Error(
      `${what}: .npy data of shape (${shape.join(', ')}) needs ${count * dtype.size} bytes, the body has ${bytes.length - dataStart}`,
    );
  }
  const data = new Float32Array(count);
  if (m[2] === 'f4' && little && (bytes.byteOffset + dataStart) % 4 === 0) {
    data.set(new Float32Array(bytes.buffer, bytes.byteOffset + dataStart, count));
  } else {
    for (let i = 0; i < count; i++) data[i] = dtype.get(view, dataStart + i * dtype.size, little);
  }
  return { array: { shape, data }, end };
}

const ORDINALS = ['first', 'second', 'third', 'fourth'];

/**
 * The .npy arrays `names` stored back to back in `bytes`, which must hold nothing else; throws
 * one line naming the array that is not one, or the bytes left over.
 */
export function readNpyArrays(
  bytes: Uint8Array,
  names: readonly string[],
): Record<string, NdArray> {
  const arrays: Record<string, NdArray> = {};
  let offset = 0;
  for (const name of names) {
    const r = readNpy(bytes, offset, name);
    arrays[name] = r.array;
    offset = r.end;
  }
  if (offset !== bytes.length) {
    const last = ORDINALS[names.length - 1] ?? 'last';
    throw new Error(
      `body has ${bytes.length - offset} bytes after the ${last} array (send ${names.join(', ')} only)`,
    );
  }
  return arrays;
}

/**
 * Reads arrays sent as raw little-endian float32, back to back, with their shapes given apart
 * (e.g. from a header `labels=64x2; images=64x16x16; activations=64x128`).
 */
export function readRawFloat32(
  bytes: Uint8Array,
  shapes: { name: string; shape: number[] }[],
): Record<string, NdArray> {
  const need = shapes.reduce((s, a) => s + product(a.shape) * 4, 0);
  if (need !== bytes.length) {
    const listed = shapes.map((a) => `${a.name}=${a.shape.join('x')}`).join('; ');
    throw new Error(
      `body has ${bytes.length} bytes, the shapes (${listed}) need ${need} (float32)`,
    );
  }
  const out: Record<string, NdArray> = {};
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let o = 0;
  for (const { name, shape } of shapes) {
    const data = new Float32Array(product(shape));
    for (let i = 0; i < data.length; i++, o += 4) data[i] = view.getFloat32(o, true);
    out[name] = { shape, data };
  }
  return out;
}

/**
 * Parses a shape header: `name=d0xd1x...` entries separated by `;`.
 * @example parseShapes('labels=4x2; images=4x8x8'); // [{ name: 'labels', shape: [4, 2] }, ...]
 */
export function parseShapes(text: string): { name: string; shape: number[] }[] {
  return text
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((entry) => {
      const m = /^([A-Za-z_][\w]*)\s*=\s*(\d+(?:\s*x\s*\d+)*)$/.exec(entry);
      if (!m) {
        throw new Error(
          `shape entry "${entry.slice(0, 60)}" is not name=AxBx... (e.g. images=64x16x16)`,
        );
      }
      return { name: m[1], shape: m[2].split('x').map((d) => Number(d.trim())) };
    });
}
