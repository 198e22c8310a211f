import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { loadNativeAddon } from '../../../../engine/backend/native/addon.js';
import { registerNativeBackend } from '../../../../engine/backend/native/backend.js';
import {
  BufferPool,
  nativeBufferPool,
  type PooledBackend,
} from '../../../../engine/backend/native/buffer-pool.js';
import { Ddpm } from '../../../../engine/models/ddpm.js';

/** A tensor of 4096 distinct values (large enough to be pooled). */
function ramp(offset = 0): tf.Tensor {
  return tf.tensor(
    Float32Array.from({ length: 4096 }, (_, i) => i + offset),
    [64, 64],
  );
}

/** The cpu backend's data bookkeeping, reduced to what the pool wraps. */
function fakeBackend(): PooledBackend {
  const data = new Map<object, { values: unknown }>();
  return {
    data: { get: (d) => data.get(d), has: (d) => data.has(d) },
    write(values) {
      const d = {};
      data.set(d, { values });
      return d;
    },
    move(d, values) {
      data.set(d, { values });
    },
    readSync: (d) => data.get(d)?.values,
    disposeData(d) {
      data.delete(d);
      return true;
    },
  };
}

describe('native buffer pool', function () {
  this.timeout(60_000);
  let previous: string;

  before(async function () {
    if (!registerNativeBackend()) this.skip();
    previous = tf.getBackend();
    await tf.setBackend('native');
  });
  after(async () => {
    if (previous) await tf.setBackend(previous);
  });

  it("hands a disposed output's storage to the next output of that length, with the right values", () => {
    const x = ramp();
    const a = tf.add(x, 1);
    a.dispose();
    const reused = nativeBufferPool.reused;
    const b = tf.mul(x, 2);
    expect(nativeBufferPool.reused).to.equal(reused + 1);
    const v = b.dataSync();
    expect(v[0]).to.equal(0);
    expect(v[4095]).to.equal(8190);
    tf.dispose([x, b]);
  });

  it('never recycles storage a caller has read out: a kept dataSync() array stays intact', () => {
    const x = ramp();
    const a = tf.add(x, 1);
    const kept = a.dataSync();
    a.dispose();
    const b = tf.mul(x, -1);
    const c = tf.mul(x, 3);
    expect(kept[10]).to.equal(11);
    expect(kept[4095]).to.equal(4096);
    tf.dispose([x, b, c]);
  });

  it('keeps storage shared by another tensor entry (a view) until the last one is disposed', () => {
    const pool = new BufferPool();
    const backend = fakeBackend();
    pool.install(backend);
    const array = pool.take(2048);
    const whole = backend.write(array, [2048], 'float32');
    const view = backend.write(array.subarray(0, 1024), [1024], 'float32');
    backend.disposeData(whole);
    expect(pool.heldBytes, 'a view still uses it').to.equal(0);
    expect(pool.take(2048)).to.not.equal(array);
    backend.disposeData(view);
    expect(pool.heldBytes).to.equal(2048 * 4);
    expect(pool.take(2048)).to.equal(array);
    // A user's own array is never taken into the pool.
    const own = new Float32Array(2048);
    backend.disposeData(backend.write(own, [2048], 'float32'));
    expect(pool.heldBytes).to.equal(0);
    // Arrays read out are never recycled either.
    const read = pool.take(4096);
    const r = backend.write(read, [4096], 'float32');
    backend.readSync(r);
    backend.disposeData(r);
    expect(pool.heldBytes).to.equal(0);
  });

  it('holds no more than its limit', () => {
    const pool = new BufferPool(3 * 4096 * 4);
    const backend = fakeBackend();
    pool.install(backend);
    const ids = Array.from({ length: 5 }, () => backend.write(pool.take(4096), [4096], 'float32'));
    for (const d of ids) backend.disposeData(d);
    expect(pool.heldBytes).to.equal(3 * 4096 * 4);
    pool.clear();
    expect(pool.heldBytes).to.equal(0);
  });

  it('seeded training repeats exactly, with recycled storage and with 1 or 2 threads', () => {
    const addon = loadNativeAddon()!;
    const threads = addon.threads();
    const run = (n: number): number[] => {
      addon.threads(n);
      // Large enough that the convolutions, GroupNorm and reductions split over threads.
      const m = new Ddpm({ size: 16, widths: [16, 32, 32], seed: 3 });
      const images = Float32Array.from({ length: 64 * 256 }, (_, i) => Math.sin(i * 0.37));
      const labels = Float32Array.from({ length: 64 * 2 }, (_, i) => (i % 7) / 7);
      const losses = Array.from({ length: 4 }, () => m.trainStep(images, labels, 64));
      m.dispose();
      return losses;
    };
    try {
      const first = run(2);
      expect(nativeBufferPool.heldBytes, 'the pool was used').to.be.greaterThan(0);
      expect(run(2)).to.deep.equal(first);
      expect(run(1)).to.deep.equal(first);
    } finally {
      addon.threads(threads);
    }
  });
});
