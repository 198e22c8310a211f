import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { selectBackend } from '../../../engine/backend/backend.js';
import { conv2d, sliceGradConv } from '../../../engine/backend/conv.js';

function relErr(a: Float32Array | number[], b: Float32Array | number[]): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}

/** Gradients of a non-trivial loss through `f`, as plain arrays. */
function grads(
  f: (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D,
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  r: tf.Tensor4D,
): { y: Float32Array; dx: Float32Array; dw: Float32Array } {
  return tf.tidy(() => {
    const y = f(x, w);
    const g = tf.grads((a, b) => tf.sum(tf.mul(f(a as tf.Tensor4D, b as tf.Tensor4D), r)));
    const [dx, dw] = g([x, w]);
    return {
      y: y.dataSync() as Float32Array,
      dx: dx.dataSync() as Float32Array,
      dw: dw.dataSync() as Float32Array,
    };
  });
}

describe('conv2d', () => {
  before(async () => {
    await selectBackend('cpu');
  });

  for (const [k, ci, co] of [
    [3, 5, 7],
    [1, 6, 3],
  ]) {
    it(`matches tfjs's own value and gradients on cpu (${k}×${k}, ${ci}→${co})`, () => {
      const x = tf.randomNormal([2, 6, 5, ci], 0, 1, 'float32', 1) as tf.Tensor4D;
      const w = tf.randomNormal([k, k, ci, co], 0, 1, 'float32', 2) as tf.Tensor4D;
      const r = tf.randomNormal([2, 6, 5, co], 0, 1, 'float32', 3) as tf.Tensor4D;
      const before = tf.memory().numTensors;
      const ours = grads(sliceGradConv, x, w, r);
      expect(tf.memory().numTensors).to.equal(before);
      const ref = grads((a, b) => tf.conv2d(a, b, 1, 'same'), x, w, r);
      expect(relErr(ours.y, ref.y)).to.be.lessThan(1e-4);
      expect(relErr(ours.dx, ref.dx)).to.be.lessThan(1e-4);
      expect(relErr(ours.dw, ref.dw)).to.be.lessThan(1e-4);
      tf.dispose([x, w, r]);
    });
  }

  it('trains on wasm, which has no filter-gradient kernel, with the same gradients', async () => {
    const xs = tf.randomNormal([2, 4, 4, 3], 0, 1, 'float32', 4).arraySync() as number[][][][];
    const ws = tf.randomNormal([3, 3, 3, 4], 0, 1, 'float32', 5).arraySync() as number[][][][];
    const rs = tf.randomNormal([2, 4, 4, 4], 0, 1, 'float32', 6).arraySync() as number[][][][];
    const on = async (name: string): Promise<ReturnType<typeof grads>> => {
      await selectBackend(name);
      const [x, w, r] = [tf.tensor4d(xs), tf.tensor4d(ws), tf.tensor4d(rs)];
      const out = grads(conv2d, x, w, r);
      tf.dispose([x, w, r]);
      return out;
    };
    try {
      const ref = await on('cpu');
      const got = await on('wasm');
      expect(relErr(got.dw, ref.dw)).to.be.lessThan(1e-4);
      expect(relErr(got.dx, ref.dx)).to.be.lessThan(1e-4);
    } finally {
      await selectBackend('cpu');
    }
  });

  it('rejects an even kernel with a one-line error', () => {
    const x = tf.zeros([1, 4, 4, 2]) as tf.Tensor4D;
    const w = tf.zeros([2, 2, 2, 2]) as tf.Tensor4D;
    expect(() => sliceGradConv(x, w)).to.throw(
      /^conv2d kernel must be square and odd \(got 2×2\)$/,
    );
    tf.dispose([x, w]);
  });
});
