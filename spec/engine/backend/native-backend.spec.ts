import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { FusedAdamEma } from '../../../engine/backend/adam-ema.js';
import { selectBackend } from '../../../engine/backend/backend.js';
import {
  attention,
  attentionComposed,
  attentionPacked,
} from '../../../engine/backend/fused/attention.js';
import {
  convBlock,
  convBlockComposed,
  convBlockKernel,
} from '../../../engine/backend/fused/conv-block.js';
import { gelu } from '../../../engine/backend/fused/gelu.js';
import { groupNorm, groupNormGelu } from '../../../engine/backend/fused/group-norm.js';
import {
  nativeKernelHits,
  nativeKernelNames,
  registerNativeBackend,
  resetNativeKernelHits,
} from '../../../engine/backend/native/backend.js';
import { loadNativeAddon } from '../../../engine/backend/native/addon.js';
import { Ddpm } from '../../../engine/models/ddpm.js';
import { createUnet, unetApply } from '../../../engine/models/unet.js';

/** Deterministic values in [lo, hi). */
function values(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = lo + ((s % 100000) / 100000) * (hi - lo);
  }
  return out;
}

function rand(shape: number[], seed: number, lo = -1, hi = 1): tf.Tensor {
  return tf.tensor(
    values(
      shape.reduce((a, b) => a * b, 1),
      seed,
      lo,
      hi,
    ),
    shape,
  );
}

/** Runs fn on 'cpu' and on 'native'; returns both results' values and shapes. */
async function both(fn: () => tf.Tensor | tf.Tensor[]): Promise<{
  cpu: { v: Float32Array; shape: number[] }[];
  native: { v: Float32Array; shape: number[] }[];
}> {
  const out: Record<string, { v: Float32Array; shape: number[] }[]> = {};
  for (const backend of ['cpu', 'native']) {
    await tf.setBackend(backend);
    const before = tf.memory().numTensors;
    const res = tf.tidy(() => {
      const r = fn();
      return Array.isArray(r) ? r : [r];
    });
    out[backend] = res.map((t) => ({ v: Float32Array.from(t.dataSync()), shape: t.shape }));
    tf.dispose(res);
    expect(tf.memory().numTensors, `${backend} leaked tensors`).to.equal(before);
  }
  return { cpu: out.cpu, native: out.native };
}

/** Max-normalised difference of every output is within tol (1e-4 relative by default). */
async function expectMatch(fn: () => tf.Tensor | tf.Tensor[], tol = 1e-4): Promise<void> {
  const { cpu, native } = await both(fn);
  expect(native.length).to.equal(cpu.length);
  cpu.forEach((c, i) => {
    const n = native[i];
    expect(n.shape).to.deep.equal(c.shape);
    let scale = 0;
    for (const x of c.v) scale = Math.max(scale, Math.abs(x));
    let err = 0;
    for (let j = 0; j < c.v.length; j++) {
      if (Number.isNaN(c.v[j])) {
        expect(Number.isNaN(n.v[j]), `output ${i}[${j}] NaN on cpu`).to.equal(true);
        continue;
      }
      err = Math.max(err, Math.abs(n.v[j] - c.v[j]));
    }
    expect(err / Math.max(scale, 1e-6), `output ${i} relative error`).to.be.at.most(tol);
  });
}

/**
 * `fn` on 'native' and on 'cpu' each match `reference` computed on 'cpu' (max-normalised
 * difference within tol), with no leaked tensors.
 */
async function expectMatchRef(
  fn: () => tf.Tensor | tf.Tensor[],
  reference: () => tf.Tensor | tf.Tensor[],
  tol = 1e-4,
): Promise<void> {
  const outputs = async (backend: string, f: () => tf.Tensor | tf.Tensor[]) => {
    await tf.setBackend(backend);
    const before = tf.memory().numTensors;
    const res = tf.tidy(() => {
      const r = f();
      return Array.isArray(r) ? r : [r];
    });
    const out = res.map((t) => ({ v: Float32Array.from(t.dataSync()), shape: t.shape }));
    tf.dispose(res);
    expect(tf.memory().numTensors, `${backend} leaked tensors`).to.equal(before);
    return out;
  };
  const ref = await outputs('cpu', reference);
  for (const backend of ['native', 'cpu']) {
    const got = await outputs(backend, fn);
    expect(got.length).to.equal(ref.length);
    ref.forEach((r, i) => {
      expect(got[i].shape).to.deep.equal(r.shape);
      let scale = 0;
      let err = 0;
      for (let j = 0; j < r.v.length; j++) {
        scale = Math.max(scale, Math.abs(r.v[j]));
        err = Math.max(err, Math.abs(got[i].v[j] - r.v[j]));
      }
      expect(err / Math.max(scale, 1e-6), `${backend} output ${i} relative error`).to.be.at.most(
        tol,
      );
    });
  }
}

function expectNative(kernel: string): void {
  expect(nativeKernelHits()[kernel] ?? 0, `${kernel} ran natively`).to.be.greaterThan(0);
}

type Pad = 'same' | 'valid';

describe('native backend', function () {
  this.timeout(60000);
  let previous = 'cpu';

  before(async function () {
    await tf.ready();
    previous = tf.getBackend();
    if (!registerNativeBackend()) this.skip();
  });

  beforeEach(() => resetNativeKernelHits());

  after(async () => {
    await tf.setBackend(previous);
  });

  it('registers idempotently and covers every cpu kernel', async () => {
    expect(registerNativeBackend()).to.equal(true);
    const cpu = tf.getKernelsForBackend('cpu').map((k) => k.kernelName);
    const native = new Set(tf.getKernelsForBackend('native').map((k) => k.kernelName));
    for (const k of cpu) expect(native.has(k), k).to.equal(true);
    expect(nativeKernelNames()).to.include.members([
      'Conv2D',
      'Conv2DBackpropFilter',
      'BatchMatMul',
    ]);
    await tf.setBackend('native');
    expect(tf.add(tf.scalar(1), tf.scalar(2)).dataSync()[0]).to.equal(3);
  });

  describe('convolutions and their gradients', () => {
    const cases: [number[], number[], number, Pad | number, number][] = [
      // x shape, filter shape, stride, pad, dilation
      [[1, 5, 7, 3], [3, 3, 3, 4], 1, 'same', 1],
      [[2, 9, 8, 5], [3, 3, 5, 17], 2, 'same', 1],
      [[3, 6, 7, 2], [2, 3, 2, 33], 2, 'valid', 1],
      [[1, 7, 5, 3], [5, 5, 3, 2], 1, 'valid', 1],
      [[2, 8, 8, 20], [1, 1, 20, 1], 1, 'same', 1],
      [[1, 11, 9, 1], [3, 3, 1, 16], 1, 'same', 1],
      [[2, 6, 6, 36], [3, 3, 36, 40], 1, 'same', 1],
      [[1, 10, 10, 4], [3, 3, 4, 5], 2, 1, 1],
      [[4, 16, 16, 32], [3, 3, 32, 32], 1, 'same', 1],
      // One output channel, large enough to split over threads (the GEMV paths).
      [[64, 16, 16, 16], [3, 3, 16, 1], 1, 'same', 1],
      // Row tails, two column panels, 'valid' with 5×5, and more input channels than one
      // reduction block of the GEMM.
      [[2, 5, 13, 8], [3, 3, 8, 40], 1, 'same', 1],
      [[2, 9, 11, 12], [5, 5, 12, 17], 1, 'valid', 1],
      [[1, 4, 4, 300], [3, 3, 300, 20], 1, 'same', 1],
      // 1×1, stride 1: rows read in place (no gather), threaded, with a row tail (M = 105)
      // and a channel count that is not a multiple of the register tile.
      [[64, 16, 16, 16], [1, 1, 16, 8], 1, 'same', 1],
      [[3, 7, 5, 13], [1, 1, 13, 20], 1, 'valid', 1],
    ];
    for (const [xs, fs, stride, pad, dil] of cases) {
      it(`x ${JSON.stringify(xs)} f ${JSON.stringify(fs)} stride ${stride} pad ${pad}`, async () => {
        const f = (x: tf.Tensor, w: tf.Tensor): tf.Tensor =>
          tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, pad, 'NHWC', dil);
        await expectMatch(() => {
          const x = rand(xs, 1);
          const w = rand(fs, 2);
          const y = f(x, w);
          const dy = rand(y.shape, 3);
          const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => f(a, b))([x, w], dy);
          return [y, gx, gw];
        });
        expectNative('Conv2D');
        expectNative('Conv2DBackpropInput');
        expectNative('Conv2DBackpropFilter');
      });
    }

    it('dilated forward (dilation 2)', async () => {
      await expectMatch(() =>
        tf.conv2d(
          rand([2, 9, 10, 3], 4) as tf.Tensor4D,
          rand([3, 3, 3, 6], 5) as tf.Tensor4D,
          1,
          'same',
          'NHWC',
          2,
        ),
      );
      expectNative('Conv2D');
    });
  });

  describe('matMul', () => {
    // tfjs's BatchMatMul gradient does not reduce a broadcast batch, so that case is forward only.
    const cases: [number[], number[], boolean, boolean][] = [
      [[5, 7], [7, 3], false, false],
      [[7, 5], [7, 33], true, false],
      [[5, 7], [19, 7], false, true],
      [[7, 1], [40, 7], true, true],
      [[1, 1], [1, 1], false, false],
      [[3, 4, 6], [3, 6, 5], false, false],
      [[3, 4, 6], [6, 5], false, false],
      [[2, 6, 4], [2, 5, 6], true, true],
      [[64, 96], [96, 64], false, false],
      [[33, 20], [20, 1], false, false],
      [[33, 20], [1, 20], false, true],
    ];
    for (const [as, bs, ta, tb] of cases) {
      it(`${JSON.stringify(as)} × ${JSON.stringify(bs)} transposeA ${ta} transposeB ${tb}`, async () => {
        await expectMatch(() => {
          const a = rand(as, 6);
          const b = rand(bs, 7);
          const f = (x: tf.Tensor, y: tf.Tensor): tf.Tensor => tf.matMul(x, y, ta, tb);
          const y = f(a, b);
          if (as.length !== bs.length) return y;
          const [ga, gb] = tf.grads(f)([a, b], rand(y.shape, 8));
          return [y, ga, gb];
        });
        expectNative('BatchMatMul');
      });
    }
  });

  describe('elementwise binary ops with broadcasting', () => {
    const ops: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
      ['Add', tf.add],
      ['Sub', tf.sub],
      ['Multiply', tf.mul],
      ['RealDiv', tf.div],
      ['SquaredDifference', tf.squaredDifference],
      ['Maximum', tf.maximum],
      ['Minimum', tf.minimum],
    ];
    const shapes: [number[], number[]][] = [
      [[5], [5]],
      [[2, 3, 4], [4]],
      [
        [2, 1, 4],
        [3, 1],
      ],
      [[], [3, 2]],
      [
        [4, 5, 5, 1, 3],
        [4, 1, 1, 2, 1],
      ],
      [
        [64, 8, 8, 16],
        [64, 1, 1, 16],
      ],
    ];
    // tfjs's own gradients of these three do not reduce over broadcast axes (on any backend).
    const noBroadcastGrad = new Set(['SquaredDifference', 'Maximum', 'Minimum']);
    for (const [name, op] of ops) {
      it(`${name} forward and gradients`, async () => {
        for (const [as, bs] of shapes) {
          const withGrad = !noBroadcastGrad.has(name) || JSON.stringify(as) === JSON.stringify(bs);
          await expectMatch(() => {
            const a = rand(as, 9);
            // Positive, away from zero, so division is well conditioned.
            const b = name === 'RealDiv' ? rand(bs, 10, 0.5, 2) : rand(bs, 10);
            const y = op(a, b);
            if (!withGrad) return y;
            const [ga, gb] = tf.grads(op)([a, b], rand(y.shape, 11));
            return [y, ga, gb];
          });
        }
        expectNative(name);
      });
    }
  });

  describe('elementwise unary ops', () => {
    const ops: [string, (x: tf.Tensor) => tf.Tensor, number, number][] = [
      ['Neg', tf.neg, -3, 3],
      ['Square', tf.square, -3, 3],
      ['Sqrt', tf.sqrt, 0.01, 9],
      ['Rsqrt', tf.rsqrt, 0.01, 9],
      ['Exp', tf.exp, -5, 5],
      ['Log', tf.log, 0.01, 9],
      ['Erf', tf.erf, -3, 3],
      ['Abs', tf.abs, -3, 3],
      ['Relu', tf.relu, -3, 3],
      ['Sigmoid', tf.sigmoid, -6, 6],
      ['Tanh', tf.tanh, -4, 4],
      ['Reciprocal', tf.reciprocal, 0.1, 4],
      ['ClipByValue', (x: tf.Tensor) => tf.clipByValue(x, -0.5, 0.7), -2, 2],
    ];
    for (const [name, op, lo, hi] of ops) {
      it(`${name} forward and gradient`, async () => {
        for (const shape of [[1], [7, 13], [2, 33, 17, 3]]) {
          await expectMatch(() => {
            const x = rand(shape, 12, lo, hi);
            const y = op(x);
            const [gx] = tf.grads((a: tf.Tensor) => op(a))([x], rand(shape, 13));
            return [y, gx];
          });
        }
        expectNative(name);
      });
    }
  });

  describe('reductions', () => {
    const cases: [number[], number | number[] | undefined, boolean][] = [
      [[7], undefined, false],
      [[5, 6], 0, false],
      [[5, 6], 1, true],
      [[3, 4, 5], [0, 2], false],
      [[2, 4, 4, 2, 3], [1, 2, 4], true],
      [[64, 8, 8, 16], [0, 1, 2], false],
      [[1, 1, 3], [0, 1], true],
    ];
    const ops: [string, (x: tf.Tensor, axis?: number | number[], keep?: boolean) => tf.Tensor][] = [
      ['Sum', tf.sum],
      ['Mean', tf.mean],
      ['Max', tf.max],
      ['Min', tf.min],
    ];
    for (const [name, op] of ops) {
      it(`${name} over axes, with gradients`, async () => {
        for (const [shape, axis, keep] of cases) {
          await expectMatch(() => {
            const x = rand(shape, 14);
            const y = op(x, axis, keep);
            const [gx] = tf.grads((a: tf.Tensor) => op(a, axis, keep))([x], rand(y.shape, 15));
            return [y, gx];
          });
        }
        expectNative(name);
      });
    }

    it('moments (GroupNorm statistics) and their gradients', async () => {
      await expectMatch(() => {
        const x = rand([3, 5, 5, 4, 2], 16);
        const f = (a: tf.Tensor): tf.Tensor => {
          const { mean, variance } = tf.moments(a, [1, 2, 4], true);
          return tf.div(tf.sub(a, mean), tf.sqrt(tf.add(variance, 1e-5)));
        };
        const y = f(x);
        const [gx] = tf.grads(f)([x], rand(y.shape, 17));
        return [y, gx];
      });
    });
  });

  describe('slicing, splitting and concatenation', () => {
    it('Slice on every axis, with gradient', async () => {
      const cases: [number[], number[], number[]][] = [
        [[7], [2], [3]],
        [
          [4, 5, 6],
          [1, 0, 2],
          [2, 5, 3],
        ],
        [
          [4, 5, 6],
          [0, 2, 0],
          [4, 2, 6],
        ],
        [
          [2, 3, 4, 5],
          [1, 1, 1, 1],
          [1, 2, 3, 4],
        ],
      ];
      for (const [shape, begin, size] of cases) {
        await expectMatch(() => {
          const x = rand(shape, 18);
          const f = (a: tf.Tensor): tf.Tensor => tf.slice(a, begin, size);
          const [gx] = tf.grads(f)([x], rand(size, 19));
          return [f(x), gx];
        });
      }
      expectNative('Slice');
    });

    it('SplitV on first, middle and last axes', async () => {
      for (const [shape, splits, axis] of [
        [[6, 4], [1, 5], 0],
        [[3, 7, 2], [2, 4, 1], 1],
        [[2, 4, 4, 12], [5, 7], 3],
        [[2, 4, 4, 12], 3, -1],
      ] as [number[], number | number[], number][]) {
        await expectMatch(() => tf.split(rand(shape, 20), splits, axis));
      }
      expectNative('SplitV');
    });

    it('Concat of odd widths on every axis, with gradients', async () => {
      for (const axis of [0, 1, 2, 3]) {
        await expectMatch(() => {
          const a = rand([2, 3, 4, 5], 21);
          const bShape = [2, 3, 4, 5];
          bShape[axis] = 3;
          const b = rand(bShape, 22);
          const c = rand([2, 3, 4, 5], 23);
          const f = (x: tf.Tensor, y: tf.Tensor, z: tf.Tensor): tf.Tensor =>
            tf.concat([x, y, z], axis);
          const out = f(a, b, c);
          return [out, ...tf.grads(f)([a, b, c], rand(out.shape, 24))];
        });
      }
      expectNative('Concat');
    });
  });

  describe('pooling and resampling', () => {
    const pools: [number[], number, number, Pad][] = [
      [[2, 8, 8, 3], 2, 2, 'valid'],
      [[1, 7, 9, 2], 3, 1, 'same'],
      [[2, 7, 7, 5], 2, 2, 'same'],
      [[1, 9, 6, 1], 3, 2, 'valid'],
    ];
    for (const [shape, k, s, pad] of pools) {
      it(`avgPool ${k}×${k} stride ${s} ${pad} on ${JSON.stringify(shape)}, with gradient`, async () => {
        await expectMatch(() => {
          const x = rand(shape, 25);
          const f = (a: tf.Tensor): tf.Tensor => tf.avgPool(a as tf.Tensor4D, k, s, pad);
          const y = f(x);
          return [y, ...tf.grads(f)([x], rand(y.shape, 26))];
        });
        expectNative('AvgPool');
        expectNative('AvgPoolGrad');
      });
    }

    for (const [shape, k, s, pad] of pools) {
      it(`maxPool ${k}×${k} stride ${s} ${pad} on ${JSON.stringify(shape)}, with gradient`, async () => {
        await expectMatch(() => {
          const x = rand(shape, 31);
          const f = (a: tf.Tensor): tf.Tensor => tf.maxPool(a as tf.Tensor4D, k, s, pad);
          const y = f(x);
          return [y, ...tf.grads(f)([x], rand(y.shape, 32))];
        });
        expectNative('MaxPool');
        expectNative('MaxPoolGrad');
      });
    }

    it('maxPool gradient goes to the first of tied maxima, as on cpu', async () => {
      await expectMatch(() => {
        const x = tf.tensor4d([1, 1, 1, 1, 0, 2, 2, 0], [1, 2, 4, 1]);
        const f = (a: tf.Tensor): tf.Tensor => tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid');
        return tf.grads(f)([x], tf.tensor4d([3, 5], [1, 1, 2, 1]));
      });
      expectNative('MaxPoolGrad');
    });

    // The UNet's bilinear up-sampling (PyTorch's align_corners=True) and the plain rule.
    const bilinears: [number[], [number, number], boolean][] = [
      [[2, 4, 4, 3], [8, 8], true],
      [[3, 2, 2, 64], [4, 4], true],
      [[1, 5, 5, 2], [9, 9], false],
      [[2, 3, 5, 2], [6, 15], true],
      [[1, 5, 4, 2], [7, 9], false],
    ];
    for (const [shape, size, ac] of bilinears) {
      const label = `${JSON.stringify(shape)} → ${JSON.stringify(size)} alignCorners ${ac}`;
      const f = (a: tf.Tensor): tf.Tensor => tf.image.resizeBilinear(a as tf.Tensor4D, size, ac);
      const square = shape[1] === shape[2] && size[0] === size[1];
      it(`resizeBilinear ${label}${square ? ', with gradient' : ''}`, async () => {
        // tfjs's cpu gradient returns [n, w, h, c]: right for square images only.
        await expectMatch(() => {
          const x = rand(shape, 33);
          const y = f(x);
          return square ? [y, ...tf.grads(f)([x], rand(y.shape, 34))] : [y];
        });
        expectNative('ResizeBilinear');
        if (square) expectNative('ResizeBilinearGrad');
      });

      it(`resizeBilinear gradient ${label} is the adjoint`, async () => {
        await tf.setBackend('native');
        const [lhs, rhs] = tf.tidy(() => {
          const x = rand(shape, 35);
          const y = f(x);
          const dy = rand(y.shape, 36);
          const [gx] = tf.grads(f)([x], dy);
          return [tf.sum(tf.mul(y, dy)).dataSync()[0], tf.sum(tf.mul(x, gx)).dataSync()[0]];
        });
        expect(Math.abs(lhs - rhs)).to.be.at.most(1e-4 * Math.max(1, Math.abs(lhs)));
        expectNative('ResizeBilinearGrad');
      });
    }

    const resizes: [number[], [number, number], boolean, boolean][] = [
      [[2, 4, 4, 3], [8, 8], false, false],
      [[1, 3, 5, 2], [6, 15], false, false],
      [[1, 5, 4, 2], [7, 9], false, false],
      [[2, 5, 4, 2], [7, 9], true, false],
      [[3, 5, 4, 2], [8, 3], false, true],
    ];
    for (const [shape, size, ac, hp] of resizes) {
      const label = `${JSON.stringify(shape)} → ${JSON.stringify(size)} alignCorners ${ac} halfPixel ${hp}`;
      const f = (a: tf.Tensor): tf.Tensor =>
        tf.image.resizeNearestNeighbor(a as tf.Tensor4D, size, ac, hp);

      it(`resizeNearestNeighbor ${label}`, async () => {
        await expectMatch(() => f(rand(shape, 27)));
        expectNative('ResizeNearestNeighbor');
      });

      it(`resizeNearestNeighbor gradient ${label} is the adjoint`, async () => {
        // <resize(x), dy> = <x, grad(dy)>: exact for a copy/scatter pair.
        await tf.setBackend('native');
        const before = tf.memory().numTensors;
        const [lhs, rhs] = tf.tidy(() => {
          const x = rand(shape, 27);
          const y = f(x);
          const dy = rand(y.shape, 28);
          const [gx] = tf.grads(f)([x], dy);
          return [tf.sum(tf.mul(y, dy)).dataSync()[0], tf.sum(tf.mul(x, gx)).dataSync()[0]];
        });
        expect(Math.abs(lhs - rhs)).to.be.at.most(1e-4 * Math.max(1, Math.abs(lhs)));
        expect(tf.memory().numTensors).to.equal(before);
        expectNative('ResizeNearestNeighborGrad');
      });
    }

    it('resizeNearestNeighbor gradient matches cpu for one image', async () => {
      // tfjs's cpu kernel is right for batch 1 only (it reads dy with the image's batch stride).
      await expectMatch(() => {
        const x = rand([1, 4, 5, 3], 29);
        const f = (a: tf.Tensor): tf.Tensor =>
          tf.image.resizeNearestNeighbor(a as tf.Tensor4D, [8, 10]);
        return tf.grads(f)([x], rand([1, 8, 10, 3], 30));
      });
      expectNative('ResizeNearestNeighborGrad');
    });
  });

  describe('fused layers', () => {
    /** GroupNorm composed of tfjs ops, the reference for the fused kernel on every backend. */
    const groupNormOps = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, groups: number): tf.Tensor => {
      const [n, h, w, c] = x.shape;
      const xg = x.reshape([n, h, w, groups, c / groups]);
      const { mean, variance } = tf.moments(xg, [1, 2, 4], true);
      const norm = tf.div(tf.sub(xg, mean), tf.sqrt(tf.add(variance, 1e-5))).reshape(x.shape);
      return tf.add(tf.mul(norm, g), b);
    };
    const geluOps = (x: tf.Tensor): tf.Tensor =>
      tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));

    for (const [shape, groups] of [
      [[1, 5, 3, 6], 3],
      [[4, 8, 8, 32], 8],
      [[2, 3, 7, 16], 1],
      [[3, 4, 4, 64], 64],
    ] as [number[], number][]) {
      it(`groupNorm ${JSON.stringify(shape)} in ${groups} groups matches the composed ops, with gradients`, async () => {
        const c = shape[3];
        const run = (fused: boolean) => () => {
          const x = rand(shape, 32, -2, 3);
          const g = rand([c], 33, 0.5, 1.5);
          const b = rand([c], 34);
          const f = (a: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor): tf.Tensor =>
            fused ? groupNorm(a as tf.Tensor4D, gg, bb, groups) : groupNormOps(a, gg, bb, groups);
          return [f(x, g, b), ...tf.grads(f)([x, g, b], rand(shape, 35))];
        };
        // native's C++ kernel and cpu's portable one, each against the composed ops on cpu.
        await expectMatchRef(run(true), run(false));
        expectNative('PhasewatchGroupNorm');
        expectNative('PhasewatchGroupNormGrad');
      });
    }

    for (const [shape, groups] of [
      [[2, 5, 3, 6], 3],
      [[64, 8, 8, 32], 8],
    ] as [number[], number][]) {
      it(`groupNormGelu ${JSON.stringify(shape)} in ${groups} groups matches gelu of the composed GroupNorm, with gradients`, async () => {
        const c = shape[3];
        const run = (fused: boolean) => () => {
          const x = rand(shape, 42, -2, 3);
          const g = rand([c], 43, 0.5, 1.5);
          const b = rand([c], 44);
          const f = (a: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor): tf.Tensor =>
            fused
              ? groupNormGelu(a as tf.Tensor4D, gg, bb, groups)
              : geluOps(groupNormOps(a, gg, bb, groups));
          return [f(x, g, b), ...tf.grads(f)([x, g, b], rand(shape, 45))];
        };
        await expectMatchRef(run(true), run(false));
        expectNative('PhasewatchGroupNorm');
        expectNative('PhasewatchGroupNormGrad');
      });
    }

    it('gelu matches the composed ops, with gradient', async () => {
      const run = (fused: boolean) => () => {
        const x = rand([3, 5, 7, 11], 36, -5, 5);
        const f = (a: tf.Tensor): tf.Tensor => (fused ? gelu(a) : geluOps(a));
        return [f(x), ...tf.grads(f)([x], rand([3, 5, 7, 11], 37))];
      };
      await expectMatchRef(run(true), run(false));
      expectNative('PhasewatchGelu');
      expectNative('PhasewatchGeluGrad');
    });

    it('is one kernel forward and one backward on every backend (no composed ops)', async () => {
      await tf.setBackend('cpu');
      const before = tf.memory().numTensors;
      const { kernelNames } = await tf.profile(() =>
        tf.tidy(() => {
          const x = rand([2, 4, 4, 8], 38);
          const f = (a: tf.Tensor): tf.Tensor =>
            gelu(groupNorm(a as tf.Tensor4D, tf.ones([8]), tf.zeros([8]), 4));
          return tf.grads(f)([x])[0];
        }),
      );
      for (const k of [
        'PhasewatchGroupNorm',
        'PhasewatchGelu',
        'PhasewatchGeluGrad',
        'PhasewatchGroupNormGrad',
      ]) {
        expect(kernelNames, k).to.include(k);
      }
      expect(kernelNames).not.to.include('Erf');
      expect(kernelNames).not.to.include('Mean');
      expect(tf.memory().numTensors - before).to.be.at.most(1); // the returned gradient
    });

    it('rejects a group count that does not divide the channels, and non-float input', () => {
      tf.tidy(() => {
        const x = tf.zeros([1, 2, 2, 6]) as tf.Tensor4D;
        expect(() => groupNorm(x, tf.ones([6]), tf.zeros([6]), 4)).to.throw(
          /groups must divide the 6 channels \(got 4\)/,
        );
        expect(() => groupNorm(x, tf.ones([5]), tf.zeros([6]), 3)).to.throw(
          /gamma must hold one value per channel, 6 \(got 5\)/,
        );
        expect(() => gelu(tf.zeros([2], 'int32'))).to.throw(
          /gelu: x must be float32 \(got int32\)/,
        );
      });
    });
  });

  describe('fused double-conv block', () => {
    interface BlockCase {
      x: number[];
      cmid: number;
      cout: number;
      groups: [number, number];
      bias?: boolean;
      residual?: boolean;
      inputGrad?: boolean;
    }
    const cases: BlockCase[] = [
      { x: [3, 6, 5, 3], cmid: 8, cout: 6, groups: [4, 3], bias: true },
      { x: [2, 8, 8, 4], cmid: 6, cout: 8, groups: [1, 8] },
      { x: [2, 4, 4, 8], cmid: 8, cout: 8, groups: [4, 2], residual: true },
      // A network's input (the stem): no input gradient.
      { x: [2, 6, 6, 1], cmid: 8, cout: 8, groups: [2, 4], inputGrad: false },
      // Over the threading threshold (64·8·8·32 elements), as the UNet's blocks are.
      { x: [64, 8, 8, 16], cmid: 32, cout: 32, groups: [8, 8], bias: true },
    ];
    const label = (c: BlockCase): string =>
      `${JSON.stringify(c.x)} → ${c.cmid} → ${c.cout}, groups ${c.groups.join('/')}` +
      (c.bias ? ', with bias' : '') +
      (c.residual ? ', residual' : '') +
      (c.inputGrad === false ? ', no input gradient' : '');

    /** The block's output and the gradients of every input (but x without inputGrad), by `op`. */
    const run = (c: BlockCase, op: typeof convBlock) => (): tf.Tensor[] => {
      const cin = c.x[3];
      const inputs = [
        rand(c.x, 60, -2, 2),
        rand([3, 3, cin, c.cmid], 61, -0.5, 0.5),
        rand([c.cmid], 62, 0.5, 1.5),
        rand([c.cmid], 63),
        rand([3, 3, c.cmid, c.cout], 64, -0.5, 0.5),
        rand([c.cout], 65, 0.5, 1.5),
        rand([c.cout], 66),
        ...(c.bias ? [rand([c.x[0], 1, 1, c.cout], 67)] : []),
      ];
      const f = (...t: tf.Tensor[]): tf.Tensor => {
        const [x, w1, gamma1, beta1, w2, gamma2, beta2, bias] = t;
        const w = { w1: w1 as tf.Tensor4D, gamma1, beta1, w2: w2 as tf.Tensor4D, gamma2, beta2 };
        const [groups1, groups2] = c.groups;
        return op(x as tf.Tensor4D, w, {
          groups1,
          groups2,
          bias: bias as tf.Tensor4D | undefined,
          residual: c.residual,
          inputGrad: c.inputGrad,
        });
      };
      const y = f(...inputs);
      const [dx, ...grads] = tf.grads(f)(inputs, rand(y.shape, 68));
      return c.inputGrad === false ? [y, ...grads] : [y, dx, ...grads];
    };

    for (const c of cases) {
      it(`${label(c)}: on native, bit for bit the separate ops, forward and every gradient`, async () => {
        await tf.setBackend('native');
        const fused = tf.tidy(run(c, convBlock));
        expectNative('PhasewatchConvBlock');
        expectNative('PhasewatchConvBlockGrad');
        const composed = tf.tidy(run(c, convBlockComposed));
        expect(fused.length).to.equal(composed.length);
        fused.forEach((t, i) => {
          expect(t.shape, `output ${i}`).to.deep.equal(composed[i].shape);
          expect(t.dataSync(), `output ${i}`).to.deep.equal(composed[i].dataSync());
        });
        tf.dispose([...fused, ...composed]);
      });

      it(`${label(c)}: the kernel (C++ on native, portable on cpu) matches the separate ops on cpu`, async () => {
        await expectMatchRef(run(c, convBlockKernel), run(c, convBlockComposed));
      });
    }

    it('without inputGrad, reports zeros for x on native and cpu', async () => {
      for (const backend of ['native', 'cpu']) {
        await tf.setBackend(backend);
        const dx = tf.tidy(() => {
          const x = rand([2, 4, 4, 1], 69);
          const w = {
            w1: rand([3, 3, 1, 4], 70) as tf.Tensor4D,
            gamma1: tf.ones([4]),
            beta1: tf.zeros([4]),
            w2: rand([3, 3, 4, 4], 71) as tf.Tensor4D,
            gamma2: tf.ones([4]),
            beta2: tf.zeros([4]),
          };
          const opts = { groups1: 2, groups2: 2, inputGrad: false };
          return tf.grad((a: tf.Tensor) => convBlockKernel(a as tf.Tensor4D, w, opts))(x);
        });
        expect([...dx.dataSync()], backend).to.deep.equal(new Array<number>(32).fill(0));
        dx.dispose();
      }
    });

    it('is one kernel forward and one backward on native', async () => {
      await tf.setBackend('native');
      const { kernelNames } = await tf.profile(() => tf.tidy(run(cases[0], convBlock)));
      expect(kernelNames).to.include.members(['PhasewatchConvBlock', 'PhasewatchConvBlockGrad']);
      for (const k of ['Conv2D', 'Conv2DBackpropInput', 'PhasewatchGroupNorm', 'Sum', 'Add']) {
        expect(kernelNames, k).not.to.include(k);
      }
    });

    it('rejects mismatched filters, groups, bias and non-float input', () => {
      tf.tidy(() => {
        const x = tf.zeros([2, 4, 4, 3]) as tf.Tensor4D;
        const w = {
          w1: tf.zeros([3, 3, 3, 6]) as tf.Tensor4D,
          gamma1: tf.ones([6]),
          beta1: tf.zeros([6]),
          w2: tf.zeros([3, 3, 6, 4]) as tf.Tensor4D,
          gamma2: tf.ones([4]),
          beta2: tf.zeros([4]),
        };
        const g = { groups1: 2, groups2: 2 };
        expect(() => convBlock(x, { ...w, w2: tf.zeros([3, 3, 5, 4]) as tf.Tensor4D }, g)).to.throw(
          /^convBlock: w2 expects 5 input channels, w1 gives 6$/,
        );
        expect(() => convBlock(x, w, { ...g, groups2: 3 })).to.throw(
          /^convBlock: groups must divide the 4 channels \(got 3\)$/,
        );
        const flat: tf.Tensor = tf.zeros([2, 4]);
        expect(() => convBlock(x, w, { ...g, bias: flat as tf.Tensor4D })).to.throw(
          /^convBlock: bias must be \[2, 1, 1, 4\] \(got \[2, 4\]\)$/,
        );
        expect(() => convBlock(x, w, { ...g, residual: true })).to.throw(
          /^convBlock: a residual block keeps x's 3 channels and has no bias$/,
        );
        expect(() => convBlock(tf.zeros([2, 4, 4, 3], 'int32') as tf.Tensor4D, w, g)).to.throw(
          /^convBlock: every input must be float32 \(got int32\)$/,
        );
      });
    });

    it('seeded training of the phase-B UNet (block stem, residual bottleneck) repeats bit for bit with 1 or 2 threads', async () => {
      await tf.setBackend('native');
      const addon = loadNativeAddon()!;
      const threads = addon.threads();
      const run = (count: number): number[] => {
        addon.threads(count);
        const m = new Ddpm({
          size: 16,
          widths: [8, 16, 16],
          groups: 4,
          stem: 'block',
          bottleneck: true,
          pool: 'max',
          upsample: 'bilinear',
          seed: 6,
        });
        const images = Float32Array.from({ length: 64 * 256 }, (_, i) => Math.sin(i * 0.29));
        const labels = Float32Array.from({ length: 64 * 2 }, (_, i) => (i % 5) / 5);
        const losses = Array.from({ length: 3 }, () => m.trainStep(images, labels, 64));
        m.dispose();
        return losses;
      };
      try {
        const first = run(2);
        expect(run(2)).to.deep.equal(first);
        expect(run(1)).to.deep.equal(first);
        expectNative('PhasewatchConvBlockGrad');
      } finally {
        addon.threads(threads);
      }
    });
  });

  describe('softmax and fused attention', () => {
    for (const [shape, lo, hi] of [
      [[3, 7, 300], -5, 5],
      [[5, 1], -1, 1],
      [[700, 200], -80, 80], // over the threading threshold; exp would overflow without the max
    ] as [number[], number, number][]) {
      it(`softmax ${JSON.stringify(shape)} in [${lo}, ${hi}) matches cpu, with gradient`, async () => {
        await expectMatch(() => {
          const x = rand(shape, 50, lo, hi);
          return [
            tf.softmax(x),
            ...tf.grads((a: tf.Tensor) => tf.softmax(a))([x], rand(shape, 51)),
          ];
        });
        expectNative('Softmax');
      });
    }

    /** Per head softmax(q kᵀ/√d) v composed of matMul, softmax and concat: the reference. */
    const attentionOps = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, heads: number): tf.Tensor =>
      attentionComposed(tf.concat([q, k, v], 2) as tf.Tensor3D, heads);

    // Odd sizes: position counts off the 32-position padding, the 6-row register tile and the
    // 48-query and 64/128-key blocks (200: several blocks and a short last one), head sizes off
    // the 8-float vector and the 16-float register tile (24, 80).
    for (const [shape, heads] of [
      [[2, 37, 12], 2],
      [[2, 200, 24], 1],
      [[3, 70, 16], 1],
      [[1, 5, 80], 1],
      [[2, 64, 64], 4],
      [[1, 1, 3], 1],
    ] as [number[], number][]) {
      it(`attention ${JSON.stringify(shape)} with ${heads} head(s) matches the composed ops, with gradients`, async () => {
        const run = (fused: boolean) => () => {
          const [q, k, v] = [60, 61, 62].map((seed) => rand(shape, seed, -2, 2));
          const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor): tf.Tensor =>
            fused
              ? attention(a as tf.Tensor3D, b as tf.Tensor3D, c as tf.Tensor3D, heads)
              : attentionOps(a, b, c, heads);
          return [f(q, k, v), ...tf.grads(f)([q, k, v], rand(shape, 63))];
        };
        // native's C++ kernel and cpu's portable one, each against the composed ops on cpu.
        await expectMatchRef(run(true), run(false));
        expectNative('PhasewatchAttention');
        expectNative('PhasewatchAttentionGrad');
      });
    }

    it('never holds an [n, n] score matrix, forward or backward', async () => {
      await tf.setBackend('native');
      const [b, n, c] = [2, 1024, 8];
      const scores = b * n * n * 4;
      const peak = async (f: typeof attentionPacked): Promise<number> =>
        (
          await tf.profile(() =>
            tf.tidy(() => {
              const qkv = rand([b, n, 3 * c], 1);
              return tf.grads((x: tf.Tensor) => tf.sum(f(x as tf.Tensor3D)))([qkv]);
            }),
          )
        ).peakBytes;
      expect(await peak(attentionPacked)).to.be.below(scores / 8);
      // The composed version, for contrast, holds several.
      expect(await peak(attentionComposed)).to.be.above(scores);
    });

    it('reads q, k, v packed in one [b, n, 3C] input, its gradient in the same layout', async () => {
      const run = (packed: boolean) => () => {
        const qkv = rand([2, 45, 3 * 20], 64, -2, 2) as tf.Tensor3D;
        const f = (x: tf.Tensor): tf.Tensor => {
          if (packed) return attentionPacked(x as tf.Tensor3D, 2);
          const [q, k, v] = tf.split(x, 3, 2);
          return attentionOps(q, k, v, 2);
        };
        return [f(qkv), ...tf.grads(f)([qkv], rand([2, 45, 20], 65))];
      };
      await expectMatchRef(run(true), run(false));
      expectNative('PhasewatchAttentionGrad');
    });

    it('on wasm runs composed of its own matMul and softmax, with the same values and gradients', async () => {
      const run = () => {
        const [q, k, v] = [66, 67, 68].map((seed) => rand([2, 30, 8], seed, -2, 2));
        const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor): tf.Tensor =>
          attention(a as tf.Tensor3D, b as tf.Tensor3D, c as tf.Tensor3D, 2);
        return [f(q, k, v), ...tf.grads(f)([q, k, v], rand([2, 30, 8], 69))].map((t) =>
          Float32Array.from(t.dataSync()),
        );
      };
      await tf.setBackend('cpu');
      const want = tf.tidy(run);
      expect(await selectBackend('wasm')).to.equal('wasm');
      const { kernelNames, result } = await tf.profile(() => tf.tidy(run));
      expect(kernelNames).to.include.members(['BatchMatMul', 'Softmax']);
      expect(kernelNames).not.to.include('PhasewatchAttention');
      (result as unknown as Float32Array[]).forEach((g, i) => {
        const scale = Math.max(...want[i].map(Math.abs));
        for (let j = 0; j < g.length; j++) {
          expect(g[j], `output ${i}[${j}]`).to.be.closeTo(want[i][j], 1e-4 * scale);
        }
      });
    });

    it('rejects mismatched shapes, a head count that does not divide the channels, non-float input', () => {
      tf.tidy(() => {
        const q = tf.zeros([1, 4, 6]) as tf.Tensor3D;
        expect(() => attention(q, q, q, 4)).to.throw(
          /^attention: heads must be a positive integer dividing 6 channels \(got 4\)$/,
        );
        expect(() => attention(q, tf.zeros([1, 5, 6]) as tf.Tensor3D, q)).to.throw(
          /^attention: k must have q's shape \[1, 4, 6\] \(got \[1, 5, 6\]\)$/,
        );
        expect(() => attention(q, q, tf.zeros([1, 4, 6], 'int32') as tf.Tensor3D)).to.throw(
          /^attention: v must be float32 \(got int32\)$/,
        );
        expect(() => attentionPacked(tf.zeros([1, 4, 8]) as tf.Tensor3D)).to.throw(
          /^attention: qkv must have 3·C channels \(got 8\)$/,
        );
      });
    });

    it('seeded training of a UNet with attention after every block repeats bit for bit with 1 or 2 threads', async () => {
      await tf.setBackend('native');
      const addon = loadNativeAddon()!;
      const threads = addon.threads();
      const run = (count: number): number[] => {
        addon.threads(count);
        // 16 images at 16 px: the full-size layer attends over 256 positions, enough work for
        // the kernels to split over threads.
        const m = new Ddpm({
          size: 16,
          widths: [8, 16, 16],
          groups: 4,
          attention: true,
          attentionAt: 'interlaced',
          heads: 2,
          seed: 5,
        });
        const images = Float32Array.from({ length: 16 * 256 }, (_, i) => Math.sin(i * 0.37));
        const labels = Float32Array.from({ length: 16 * 2 }, (_, i) => (i % 7) / 7);
        const losses = Array.from({ length: 3 }, () => m.trainStep(images, labels, 16));
        m.dispose();
        return losses;
      };
      try {
        const first = run(2);
        expect(run(2)).to.deep.equal(first);
        expect(run(1)).to.deep.equal(first);
        expectNative('PhasewatchAttentionGrad');
      } finally {
        addon.threads(threads);
      }
    });
  });

  describe('fused Adam + EMA step', () => {
    const shapes = [[3, 3, 4, 8], [8], [150000], [5, 7]]; // over the threading threshold

    /** Weights, EMAs and Adam moments after `steps` steps of one of the two optimisers. */
    async function train(
      fused: boolean,
      steps: number,
      backend = 'native',
    ): Promise<Float32Array[]> {
      await tf.setBackend(backend);
      const vars = shapes.map((s, i) => tf.variable(rand(s, 50 + i)));
      const emas = vars.map((v) => tf.variable(v, false)); // shares v's data at first
      const frozen = tf.clone(emas[0]); // shares it too: must not change
      const frozenBefore = Float32Array.from(frozen.dataSync());
      const opt = fused ? new FusedAdamEma(3e-3) : tf.train.adam(3e-3);
      let before = 0;
      for (let k = 0; k < steps; k++) {
        tf.tidy(() => {
          // A missing gradient (the last weight on step 1) must leave that weight alone.
          const grads = shapes.map((s, i) =>
            k === 1 && i === 3 ? undefined : rand(s, 100 * k + i, -1e-3, 1e-3),
          );
          if (opt instanceof FusedAdamEma) {
            opt.step(vars, grads, emas, 0.9);
          } else {
            opt.applyGradients(
              vars.map((v, i) => ({ name: v.name, tensor: grads[i] as tf.Tensor })),
            );
            vars.forEach((v, i) =>
              emas[i].assign(tf.add(tf.mul(emas[i], 0.9), tf.mul(v, 1 - 0.9))),
            );
          }
        });
        // The first step creates the moments.
        if (k === 0) before = tf.memory().numTensors;
        else expect(tf.memory().numTensors, 'tensors leaked by a step').to.equal(before);
      }
      expect(Array.from(frozen.dataSync())).to.deep.equal(Array.from(frozenBefore));
      const moments = (await opt.getWeights()).slice(1).map((w) => w.tensor);
      const out = [...vars, ...emas, ...moments].map((t) => Float32Array.from(t.dataSync()));
      tf.dispose([...vars, ...emas, frozen]);
      opt.dispose();
      return out;
    }

    it('matches tf.train.adam and the EMA ops on native and cpu bit for bit, in place', async () => {
      resetNativeKernelHits();
      const fused = await train(true, 4);
      const hits = nativeKernelHits();
      expect(hits.Sqrt ?? 0, 'Adam ran through tfjs kernels').to.equal(0);
      for (const backend of ['native', 'cpu']) {
        const reference = await train(false, 4, backend);
        expect(fused.length).to.equal(reference.length);
        fused.forEach((a, i) =>
          expect(Array.from(a), `${backend} tensor ${i}`).to.deep.equal(Array.from(reference[i])),
        );
      }
    });

    for (const backend of ['native', 'cpu']) {
      it(`restores its state through getWeights/setWeights: the next steps are the uninterrupted ones, bit for bit (${backend})`, async () => {
        await tf.setBackend(backend);
        const x = tf.variable(rand([4096], 60, -0.01, 0.01));
        const e = tf.variable(rand([4096], 61), false);
        const a = new FusedAdamEma(1e-2);
        // Enough steps that beta^t by products and by tf.pow part in the last bits.
        for (let k = 0; k < 40; k++) tf.tidy(() => a.step([x], [rand([4096], 62 + k)], [e], 0.5));
        const w = await a.getWeights();
        expect(w.length).to.equal(3);
        expect(w[0].tensor.dataSync()[0]).to.equal(40);
        const b = new FusedAdamEma(1e-2);
        await b.setWeights(
          w.map((t) => ({ name: t.name, tensor: t.tensor.clone() })), // b's own copies
        );
        w[0].tensor.dispose();
        const x2 = tf.variable(x.clone());
        const e2 = tf.variable(e.clone(), false);
        for (let k = 0; k < 3; k++) {
          tf.tidy(() => a.step([x], [rand([4096], 200 + k)], [e], 0.5));
          tf.tidy(() => b.step([x2], [rand([4096], 200 + k)], [e2], 0.5));
        }
        expect(Array.from(x2.dataSync())).to.deep.equal(Array.from(x.dataSync()));
        expect(Array.from(e2.dataSync())).to.deep.equal(Array.from(e.dataSync()));
        tf.dispose([x, e, x2, e2]);
        a.dispose();
        b.dispose();
      });
    }
  });

  it('gives the UNet the same output and weight gradients as cpu', async () => {
    const config = { size: 8, widths: [4, 8, 8] as [number, number, number], groups: 2 };
    await expectMatch(() => {
      const params = createUnet(config, 3);
      const names = Object.keys(params.weights);
      // One image: the cpu backend's nearest-resize gradient is wrong for batch > 1.
      const x = rand([1, 8, 8, 1], 30) as tf.Tensor4D;
      const t = tf.tensor1d([40]);
      const labels = rand([1, 2], 31, 0, 8) as tf.Tensor2D;
      const { value, grads } = tf.variableGrads(
        () => tf.mean(tf.square(unetApply(params, x, t, labels).eps)) as tf.Scalar,
        names.map((n) => params.weights[n]),
      );
      const out = [value, ...names.map((n) => grads[params.weights[n].name])];
      tf.dispose(Object.values(params.weights));
      return out;
    });
  });
});
