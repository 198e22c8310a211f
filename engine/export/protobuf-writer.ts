/**
 * Just enough of the protobuf wire format to write TensorBoard's `Event` and `Summary`
 * messages: varints, 64-bit doubles, 32-bit floats and length-delimited fields.
 */
export class ProtobufWriter {
  private readonly parts: Uint8Array[] = [];
  private length = 0;

  /** Field `n` as a varint (wire type 0); `value` must be a non-negative safe integer or a bigint. */
  varint(n: number, value: number | bigint): this {
    this.key(n, 0);
    this.rawVarint(BigInt(value));
    return this;
  }

  /** Field `n` as a little-endian float64 (wire type 1). */
  double(n: number, value: number): this {
    this.key(n, 1);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, value, true);
    return this.push(b);
  }

  /** Field `n` as a little-endian float32 (wire type 5). */
  float(n: number, value: number): this {
    this.key(n, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    return this.push(b);
  }

  /** Field `n` as length-delimited bytes (wire type 2): a string, bytes or an embedded message. */
  bytes(n: number, value: Uint8Array | string | ProtobufWriter): this {
    const b =
      typeof value === 'string'
        ? new TextEncoder().encode(value)
        : value instanceof ProtobufWriter
          ? value.finish()
          : value;
    this.key(n, 2);
    this.rawVarint(BigInt(b.length));
    return this.push(b);
  }

  /** The message written so far. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }

  private key(n: number, wire: number): void {
    if (!Number.isInteger(n) || n < 1) throw new Error(`field number must be >= 1 (got ${n})`);
    this.rawVarint(BigInt(n * 8 + wire));
  }

  private rawVarint(v: bigint): void {
    // int64 fields write negatives as their 64-bit two's complement (10 bytes).
    let u = v < 0n ? v + (1n << 64n) : v;
    const out: number[] = [];
    do {
      const low = Number(u & 0x7fn);
      u >>= 7n;
      out.push(u > 0n ? low | 0x80 : low);
    } while (u > 0n);
    this.push(Uint8Array.from(out));
  }

  private push(b: Uint8Array): this {
    this.parts.push(b);
    this.length += b.length;
    return this;
  }
}
