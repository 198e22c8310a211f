import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { selectBackend } from '../../../engine/backend/backend.js';
import {
  convBlock,
  convBlockComposed,
  convBlockKernel,
} from '../../../engine/backend/fused/conv-block.js';
import { gelu } from '../../../engine/backend/fused/gelu.js';
import { groupNorm, groupNormGelu } from '../../../engine/backend/fused/group-norm.js';

/** Deterministic values in [lo, hi). */
function values(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + (s / 2 ** 32) * (hi - lo);
  }
  return out;
}

function composed(x: tf.Tensor4D, g: tf.Tensor, b: tf.Tensor, groups: number): tf.Tensor {
  const [n, h, w, c] = x.shape;
  const xg = x.reshape([n, h, w, groups, c / groups]);
  const { mean, variance } = tf.moments(xg, [1, 2, 4], true);
  const norm = tf.div(tf.sub(xg, mean), tf.sqrt(tf.add(variance, 1e-5))).reshape(x.shape);
  return tf.add(tf.mul(norm, g), b);
}

function geluOps(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
}

/**
 * gelu(groupNorm(x)) and its gradients on the active backend: as two fused ops, as the one
 * fused op, or composed of tfjs ops.
 */
function run(mode: 'fused' | 'one' | 'composed'): Float32Array[] {
  return tf.tidy(() => {
    const shape = [2, 5, 4, 12];
    const x = tf.tensor4d(values(480, 1, -2, 3), shape as [number, number, number, number]);
    const g = tf.tensor1d(values(12, 2, 0.5, 1.5));
    const b = tf.tensor1d(values(12, 3));
    const f = (a: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor): tf.Tensor =>
      mode === 'fused'
        ? gelu(groupNorm(a as tf.Tensor4D, gg, bb, 3))
        : mode === 'one'
          ? groupNormGelu(a as tf.Tensor4D, gg, bb, 3)
          : geluOps(composed(a as tf.Tensor4D, gg, bb, 3));
    const dy = tf.tensor(values(480, 4), shape);
    return [f(x, g, b), ...tf.grads(f)([x, g, b], dy)].map((t) => Float32Array.from(t.dataSync()));
  });
}

describe('fused GroupNorm and GELU kernels', function () {
  this.timeout(60000);
  let previous = 'cpu';
  before(async () => {
    await tf.ready();
    previous = tf.getBackend();
  });
  after(async () => {
    await tf.setBackend(previous);
  });

  for (const backend of ['cpu', 'wasm']) {
    it(`run as one op with gradients on ${backend}, matching the composed ops`, async () => {
      await selectBackend(backend);
      const before = tf.memory().numTensors;
      const reference = run('composed');
      const fusedRuns = [run('fused'), run('one')];
      expect(tf.memory().numTensors, 'leaked tensors').to.equal(before);
      expect(tf.getKernel('PhasewatchGroupNorm', backend), 'registered').to.not.equal(undefined);
      for (const fused of fusedRuns)
        fused.forEach((v, i) => {
          let scale = 0;
          let err = 0;
          v.forEach((y, j) => {
            scale = Math.max(scale, Math.abs(reference[i][j]));
            err = Math.max(err, Math.abs(y - reference[i][j]));
          });
          expect(err / scale, `output ${i}`).to.be.at.most(1e-4);
        });
    });
  }

  /** A double-conv block with bias, and its gradients, by `op` on the active backend. */
  function block(op: typeof convBlock): Float32Array[] {
    return tf.tidy(() => {
      const t = (shape: number[], seed: number, lo = -1, hi = 1) =>
        tf.tensor(
          values(
            shape.reduce((a, b) => a * b, 1),
            seed,
            lo,
            hi,
          ),
          shape,
        );
      const inputs = [
        t([2, 5, 4, 3], 10),
        t([3, 3, 3, 8], 11),
        t([8], 12, 0.5, 1.5),
        t([8], 13),
        t([3, 3, 8, 6], 14),
        t([6], 15, 0.5, 1.5),
        t([6], 16),
        t([2, 1, 1, 6], 17),
      ];
      const f = (...a: tf.Tensor[]): tf.Tensor =>
        op(
          a[0] as tf.Tensor4D,
          {
            w1: a[1] as tf.Tensor4D,
            gamma1: a[2],
            beta1: a[3],
            w2: a[4] as tf.Tensor4D,
            gamma2: a[5],
            beta2: a[6],
          },
          { groups1: 4, groups2: 3, bias: a[7] as tf.Tensor4D },
        );
      const y = f(...inputs);
      return [y, ...tf.grads(f)(inputs, t(y.shape, 18))].map((v) =>
        Float32Array.from(v.dataSync()),
      );
    });
  }

  it('runs the double-conv block as separate ops on cpu and wasm, matching the portable kernel', async () => {
    await selectBackend('cpu');
    const reference = block(convBlockKernel);
    for (const backend of ['cpu', 'wasm']) {
      await selectBackend(backend);
      const before = tf.memory().numTensors;
      const runs = [block(convBlock), block(convBlockComposed)];
      expect(tf.memory().numTensors, `${backend} leaked tensors`).to.equal(before);
      expect(runs[0], backend).to.deep.equal(runs[1]);
      runs[0].forEach((v, i) => {
        let scale = 0;
        let err = 0;
        v.forEach((y, j) => {
          scale = Math.max(scale, Math.abs(reference[i][j]));
          err = Math.max(err, Math.abs(y - reference[i][j]));
        });
        expect(err / scale, `${backend} output ${i}`).to.be.at.most(1e-4);
      });
    }
  });
});
