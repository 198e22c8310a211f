/**
 * Recycled output storage for the native kernels.
 *
 * Every tfjs op allocates its output; on the cpu backend that is a fresh Float32Array each
 * time. A training step of the default model allocates ~500 of them (≈ 100 MB), so the
 * process spends its time zero-filling new pages (page faults) and in V8's garbage collector,
 * which counts the arrays as external memory — more than in the convolutions. The pool keeps
 * the storage of disposed tensors, by length, and hands it to the next kernel output of that
 * length: in a steady training loop no new output memory is allocated at all.
 *
 * Storage is recycled only when nothing can still see it:
 * - it was allocated here (a user's array given to `tf.tensor` is never taken);
 * - no live tensor refers to it: every tensor entry the backend writes or moves that uses it
 *   (also through a view: a cpu kernel's simple slice shares its input's buffer) is counted,
 *   and the storage is free only when the last such entry is disposed;
 * - it was never read out: `dataSync()`, `data()`, `bufferSync()` return the backend's own
 *   array, which a caller may keep after disposing the tensor, so storage once read is left
 *   to the garbage collector.
 */

/** The MathBackendCPU methods the pool wraps. */
export interface PooledBackend {
  data: { get(dataId: object): { values?: unknown } | undefined; has(dataId: object): boolean };
  write(values: unknown, shape: number[], dtype: string): object;
  move(dataId: object, values: unknown, shape: number[], dtype: string, refCount: number): void;
  readSync(dataId: object): unknown;
  disposeData(dataId: object, force?: boolean): boolean;
}

interface Slot {
  array: Float32Array;
  /** Tensor entries that use this storage. */
  refs: number;
  /** Read out by a caller: never recycled. */
  read: boolean;
}

/** Arrays shorter than this come from V8's heap faster than from a recycled slot. */
const MIN_LENGTH = 1024;

/** Bytes the free lists may hold at most (beyond it, disposed storage goes to the GC). */
const DEFAULT_LIMIT = 512 * 1024 * 1024;

export class BufferPool {
  private readonly slots = new WeakMap<ArrayBufferLike, Slot>();
  private readonly free = new Map<number, Float32Array[]>();
  private freeBytes = 0;
  /** Outputs served from a free list / newly allocated since the last reset (for tests). */
  reused = 0;
  allocated = 0;

  constructor(private readonly limit = DEFAULT_LIMIT) {}

  /** Uninitialised float32 storage of length n (every native kernel writes all of it). */
  take(n: number): Float32Array {
    if (n < MIN_LENGTH) return new Float32Array(n);
    const list = this.free.get(n);
    const recycled = list?.pop();
    if (recycled) {
      this.freeBytes -= recycled.byteLength;
      this.reused++;
      return recycled;
    }
    this.allocated++;
    // Buffer.allocUnsafeSlow: no zero fill, and its own ArrayBuffer (not Node's shared pool).
    const buf = Buffer.allocUnsafeSlow(n * 4);
    const array = new Float32Array(buf.buffer, buf.byteOffset, n);
    this.slots.set(array.buffer, { array, refs: 0, read: false });
    return array;
  }

  /** Bytes held for reuse now. */
  get heldBytes(): number {
    return this.freeBytes;
  }

  /** Drops every held array (the GC reclaims them). */
  clear(): void {
    this.free.clear();
    this.freeBytes = 0;
  }

  private slotOf(values: unknown): Slot | undefined {
    return ArrayBuffer.isView(values) ? this.slots.get(values.buffer) : undefined;
  }

  private release(slot: Slot): void {
    if (slot.read || this.freeBytes + slot.array.byteLength > this.limit) return;
    const n = slot.array.length;
    let list = this.free.get(n);
    if (!list) this.free.set(n, (list = []));
    list.push(slot.array);
    this.freeBytes += slot.array.byteLength;
  }

  /** Wraps the backend's data methods so tensors' storage returns here when disposed. */
  install(backend: PooledBackend): void {
    const write = backend.write.bind(backend);
    const move = backend.move.bind(backend);
    const readSync = backend.readSync.bind(backend);
    const disposeData = backend.disposeData.bind(backend);
    backend.write = (values, shape, dtype) => {
      const slot = this.slotOf(values);
      if (slot) slot.refs++;
      return write(values, shape, dtype);
    };
    backend.move = (dataId, values, shape, dtype, refCount) => {
      const slot = this.slotOf(values);
      if (slot) slot.refs++;
      move(dataId, values, shape, dtype, refCount);
    };
    backend.readSync = (dataId) => {
      const values = readSync(dataId);
      const slot = this.slotOf(values);
      if (slot) slot.read = true;
      return values;
    };
    backend.disposeData = (dataId, force) => {
      const slot = this.slotOf(backend.data.get(dataId)?.values);
      const released = disposeData(dataId, force);
      if (slot && !backend.data.has(dataId) && --slot.refs === 0) this.release(slot);
      return released;
    };
  }
}

/** The pool behind the 'native' backend's kernel outputs. */
export const nativeBufferPool = new BufferPool();
