import * as tf from '@tensorflow/tfjs';
import { conv2d } from '../conv.js';
import { gelu } from './gelu.js';
import { groupNorm, groupNormGelu } from './group-norm.js';
import { ConvBlock, ConvBlockGrad, type ConvBlockAttrs } from './kernel-names.js';
import { ensureFusedKernels } from './kernels.js';

/** A double-conv block's weights: two [k, k, cin, cout] filters and two GroupNorms' [c]. */
export interface ConvBlockWeights {
  w1: tf.Tensor4D;
  gamma1: tf.Tensor;
  beta1: tf.Tensor;
  w2: tf.Tensor4D;
  gamma2: tf.Tensor;
  beta2: tf.Tensor;
}

export interface ConvBlockOptions {
  /** The GroupNorms' group counts (each must divide its channels). */
  groups1: number;
  groups2: number;
  eps?: number;
  /** Added to the output per image and channel, [b, 1, 1, cout]. */
  bias?: tf.Tensor4D;
  /** y = GELU(x + GN2(conv2(…))) instead of GELU(GN2(conv2(…))); x keeps its shape. */
  residual?: boolean;
  /**
   * False where x needs no gradient (a network's input): the fused kernel then skips it and
   * reports zeros (tfjs skips it by itself for the separate ops). Default true.
   */
  inputGrad?: boolean;
}

/** Backends that run the block as one kernel forward and one backward. */
const FUSED_BACKENDS = new Set(['native']);

/**
 * The UNet's double-conv block, conv → GroupNorm+GELU → conv → GroupNorm+GELU (+ bias), or
 * with `residual` GELU(x + GroupNorm(conv(GELU(GroupNorm(conv(x))))))); convolutions stride 1,
 * 'same'. On 'native' one kernel forward and one backward (ConvBlock), with results bit for
 * bit those of the separate ops; elsewhere the separate ops (`convBlockComposed`).
 * @example const y = convBlock(x, w, { groups1: 8, groups2: 8, bias });
 */
export function convBlock(
  x: tf.Tensor4D,
  w: ConvBlockWeights,
  opts: ConvBlockOptions,
): tf.Tensor4D {
  return FUSED_BACKENDS.has(tf.getBackend())
    ? convBlockKernel(x, w, opts)
    : convBlockComposed(x, w, opts);
}

/**
 * The block as the ConvBlock kernel on any backend (the C++ one on 'native'; elsewhere the
 * portable loops of portable.ts, far slower than the separate ops: for tests). Its gradient
 * is a tf.customGrad, not a registered one: tfjs hands a registered gradient a zero-filled dy
 * for every output it does not use (here h1, h2 and the statistics, saved for the backward
 * pass only), allocating and clearing them every step.
 */
export function convBlockKernel(
  x: tf.Tensor4D,
  w: ConvBlockWeights,
  opts: ConvBlockOptions,
): tf.Tensor4D {
  checkConvBlock(x, w, opts);
  ensureFusedKernels(tf.getBackend());
  const { groups1, groups2, eps = 1e-5, bias, residual = false, inputGrad = true } = opts;
  const hasBias = bias !== undefined;
  const attrs: ConvBlockAttrs = { groups1, groups2, eps, residual, hasBias, inputGrad };
  const names = ['x', 'w1', 'gamma1', 'beta1', 'w2', 'gamma2', 'beta2', 'bias'] as const;
  const named = (ts: tf.Tensor[]): tf.NamedTensorMap =>
    Object.fromEntries(ts.map((t, i) => [names[i], t]));
  const run = (kernel: string, inputs: tf.NamedTensorMap): tf.Tensor[] =>
    tf.engine().runKernel<tf.Tensor[]>(kernel, inputs, attrs as unknown as tf.NamedAttrMap);
  const block = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const inputs = args as tf.Tensor[];
    // [y, h1, h2, mean1, rstd1, mean2, rstd2]
    const [y, ...kept] = run(ConvBlock, named(inputs));
    save([...inputs.slice(0, 7), ...kept]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [h1, h2, mean1, rstd1, mean2, rstd2] = saved.slice(7);
        const gradInputs = { ...named(saved.slice(0, 7)), h1, h2, mean1, rstd1, mean2, rstd2 };
        return run(ConvBlockGrad, { ...gradInputs, dy: Array.isArray(dy) ? dy[0] : dy });
      },
    };
  });
  const { w1, gamma1, beta1, w2, gamma2, beta2 } = w;
  const inputs = [x, w1, gamma1, beta1, w2, gamma2, beta2, ...(bias ? [bias] : [])];
  return block(...inputs) as tf.Tensor4D;
}

/**
 * The same block as separate ops: conv2d (engine/backend/conv.ts), the fused GroupNorm(+GELU)
 * and GELU, and tf.add. Intermediates are disposed.
 */
export function convBlockComposed(
  x: tf.Tensor4D,
  w: ConvBlockWeights,
  opts: ConvBlockOptions,
): tf.Tensor4D {
  checkConvBlock(x, w, opts);
  const { groups1, groups2, eps = 1e-5, bias, residual = false } = opts;
  return tf.tidy(() => {
    let h = conv2d(x, w.w1);
    h = groupNormGelu(h, w.gamma1, w.beta1, groups1, eps);
    h = conv2d(h, w.w2);
    if (residual)
      return gelu(tf.add<tf.Tensor4D>(x, groupNorm(h, w.gamma2, w.beta2, groups2, eps)));
    h = groupNormGelu(h, w.gamma2, w.beta2, groups2, eps);
    return bias ? tf.add<tf.Tensor4D>(h, bias) : h;
  });
}

function checkConvBlock(x: tf.Tensor4D, w: ConvBlockWeights, opts: ConvBlockOptions): void {
  const { w1, w2 } = w;
  const fail = (what: string) => {
    throw new Error(`convBlock: ${what}`);
  };
  if (x.rank !== 4 || w1.rank !== 4 || w2.rank !== 4) fail('x and the filters must be rank 4');
  const [b, , , cin] = x.shape;
  const cmid = w1.shape[3];
  const cout = w2.shape[3];
  if (w1.shape[2] !== cin) fail(`w1 expects ${w1.shape[2]} input channels, x has ${cin}`);
  if (w2.shape[2] !== cmid) fail(`w2 expects ${w2.shape[2]} input channels, w1 gives ${cmid}`);
  for (const [name, t, c] of [
    ['gamma1', w.gamma1, cmid],
    ['beta1', w.beta1, cmid],
    ['gamma2', w.gamma2, cout],
    ['beta2', w.beta2, cout],
  ] as const) {
    if (t.rank !== 1 || t.size !== c) fail(`${name} must be [${c}] (got [${t.shape.join(', ')}])`);
  }
  for (const [g, c] of [
    [opts.groups1, cmid],
    [opts.groups2, cout],
  ]) {
    if (!Number.isInteger(g) || g < 1 || c % g !== 0) {
      fail(`groups must divide the ${c} channels (got ${g})`);
    }
  }
  if (opts.bias) {
    const s = opts.bias.shape;
    if (s.length !== 4 || s[0] !== b || s[1] !== 1 || s[2] !== 1 || s[3] !== cout) {
      fail(`bias must be [${b}, 1, 1, ${cout}] (got [${s.join(', ')}])`);
    }
  }
  if (opts.residual && (opts.bias || cout !== cin)) {
    fail(`a residual block keeps x's ${cin} channels and has no bias`);
  }
  for (const t of [x, w1, w.gamma1, w.beta1, w2, w.gamma2, w.beta2, opts.bias]) {
    if (t && t.dtype !== 'float32') fail(`every input must be float32 (got ${t.dtype})`);
  }
}
