import * as tf from '@tensorflow/tfjs';
import { attentionGradValues, attentionValues, type AttentionDims } from './attention-values.js';
import {
  Attention,
  AttentionGrad,
  ConvBlock,
  ConvBlockGrad,
  Gelu,
  GeluGrad,
  GroupNorm,
  GroupNormGrad,
  type AttentionAttrs,
  type AttentionGradAttrs,
  type AttentionGradInputs,
  type AttentionInputs,
  type ConvBlockAttrs,
  type ConvBlockGradInputs,
  type ConvBlockInputs,
  type GeluGradInputs,
  type GeluInputs,
  type GroupNormAttrs,
  type GroupNormGradAttrs,
  type GroupNormGradInputs,
  type GroupNormInputs,
} from './kernel-names.js';
import {
  convBlockGradValues,
  convBlockValues,
  geluGradValues,
  geluValues,
  groupNormGradValues,
  groupNormValues,
  output,
  read,
  type ConvBlockValuesArgs,
  type PortableBackend,
} from './portable.js';

/** [b, h·w, c] of an NHWC shape. */
function dims(shape: readonly number[]): [number, number, number] {
  const [b, h, w, c] = shape;
  return [b, h * w, c];
}

/** The portable GroupNorm kernel (any backend). */
export function groupNormPortable({
  inputs: { x, gamma, beta },
  attrs: { groups, eps, activation },
  backend,
}: {
  inputs: GroupNormInputs;
  attrs: GroupNormAttrs;
  backend: PortableBackend;
}): tf.TensorInfo[] {
  if (!x || !gamma || !beta) throw new Error(`${GroupNorm}: expected inputs x, gamma, beta`);
  const [b, hw, c] = dims(x.shape);
  const r = groupNormValues(
    read(backend, x),
    read(backend, gamma),
    read(backend, beta),
    b,
    hw,
    c,
    groups,
    eps,
    activation,
  );
  return [
    output(backend, r.y, x.shape),
    output(backend, r.mean, [b, groups]),
    output(backend, r.rstd, [b, groups]),
  ];
}

/** The portable GroupNorm gradient kernel (any backend). */
export function groupNormGradPortable({
  inputs: { dy, x, gamma, beta, mean, rstd },
  attrs: { groups, activation },
  backend,
}: {
  inputs: GroupNormGradInputs;
  attrs: GroupNormGradAttrs;
  backend: PortableBackend;
}): tf.TensorInfo[] {
  if (!dy || !x || !gamma || !mean || !rstd || (activation === 'gelu' && !beta)) {
    throw new Error(`${GroupNormGrad}: expected inputs dy, x, gamma, mean, rstd (and beta)`);
  }
  const [b, hw, c] = dims(x.shape);
  const r = groupNormGradValues(
    read(backend, dy),
    read(backend, x),
    read(backend, gamma),
    activation === 'gelu' && beta ? read(backend, beta) : null,
    read(backend, mean),
    read(backend, rstd),
    b,
    hw,
    c,
    groups,
  );
  return [
    output(backend, r.dx, x.shape),
    output(backend, r.dgamma, gamma.shape),
    output(backend, r.dbeta, gamma.shape),
  ];
}

/** GroupNorm's gradient: one GroupNormGrad kernel for all three inputs. */
export const groupNormGradConfig: tf.GradConfig = {
  kernelName: GroupNorm,
  inputsToSave: ['x', 'gamma', 'beta'],
  outputsToSave: [false, true, true],
  gradFunc: (dy, saved, attrs) => {
    const [x, gamma, beta, mean, rstd] = saved;
    const dyY = Array.isArray(dy) ? dy[0] : dy;
    const inputs: GroupNormGradInputs = { dy: dyY, x, gamma, beta, mean, rstd };
    const { groups, activation } = attrs as unknown as GroupNormAttrs;
    const gradAttrs: GroupNormGradAttrs = { groups, activation };
    // Computed once here (inside the gradient's tidy), handed out by the three closures.
    const [dx, dgamma, dbeta] = tf
      .engine()
      .runKernel<tf.Tensor[]>(
        GroupNormGrad,
        inputs as unknown as tf.NamedTensorMap,
        gradAttrs as unknown as tf.NamedAttrMap,
      );
    return { x: () => dx, gamma: () => dgamma, beta: () => dbeta };
  },
};

/** The portable GELU kernel (any backend). */
export function geluPortable({
  inputs: { x },
  backend,
}: {
  inputs: GeluInputs;
  backend: PortableBackend;
}): tf.TensorInfo {
  if (!x) throw new Error(`${Gelu}: expected input x`);
  return output(backend, geluValues(read(backend, x)), x.shape);
}

/** The portable GELU gradient kernel (any backend). */
export function geluGradPortable({
  inputs: { dy, x },
  backend,
}: {
  inputs: GeluGradInputs;
  backend: PortableBackend;
}): tf.TensorInfo {
  if (!dy || !x) throw new Error(`${GeluGrad}: expected inputs dy, x`);
  return output(backend, geluGradValues(read(backend, dy), read(backend, x)), x.shape);
}

export const geluGradConfig: tf.GradConfig = {
  kernelName: Gelu,
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => {
    const [x] = saved;
    const inputs: GeluGradInputs = { dy: Array.isArray(dy) ? dy[0] : dy, x };
    return {
      x: () =>
        tf.engine().runKernel<tf.Tensor>(GeluGrad, inputs as unknown as tf.NamedTensorMap, {}),
    };
  },
};

/** [b, n, heads, d] of a packed [b, n, 3·heads·d] attention input. */
export function attentionDims(shape: readonly number[], heads: number): AttentionDims {
  const [b, n, c3] = shape;
  return { b, n, heads, d: c3 / 3 / heads };
}

/** The portable attention kernel (any backend). */
export function attentionPortable({
  inputs: { qkv },
  attrs: { heads },
  backend,
}: {
  inputs: AttentionInputs;
  attrs: AttentionAttrs;
  backend: PortableBackend;
}): tf.TensorInfo[] {
  if (!qkv) throw new Error(`${Attention}: expected input qkv`);
  const dims = attentionDims(qkv.shape, heads);
  const { b, n, d } = dims;
  const r = attentionValues(read(backend, qkv), dims);
  return [output(backend, r.o, [b, n, heads * d]), output(backend, r.lse, [b, heads, n])];
}

/** The portable attention gradient kernel (any backend). */
export function attentionGradPortable({
  inputs: { dy, qkv, o, lse },
  attrs: { heads },
  backend,
}: {
  inputs: AttentionGradInputs;
  attrs: AttentionGradAttrs;
  backend: PortableBackend;
}): tf.TensorInfo[] {
  if (!dy || !qkv || !o || !lse) {
    throw new Error(`${AttentionGrad}: expected inputs dy, qkv, o, lse`);
  }
  const [dyv, qkvv, ov, lv] = [dy, qkv, o, lse].map((t) => read(backend, t));
  const g = attentionGradValues(dyv, qkvv, ov, lv, attentionDims(qkv.shape, heads));
  return [output(backend, g, qkv.shape)];
}

/** Attention's gradient: one AttentionGrad kernel for qkv (lse gets none). */
export const attentionGradConfig: tf.GradConfig = {
  kernelName: Attention,
  inputsToSave: ['qkv'],
  outputsToSave: [true, true],
  gradFunc: (dy, saved, attrs) => {
    const [qkv, o, lse] = saved;
    const inputs: AttentionGradInputs = { dy: Array.isArray(dy) ? dy[0] : dy, qkv, o, lse };
    const gradAttrs: AttentionGradAttrs = { heads: (attrs as unknown as AttentionAttrs).heads };
    const [dqkv] = tf
      .engine()
      .runKernel<tf.Tensor[]>(
        AttentionGrad,
        inputs as unknown as tf.NamedTensorMap,
        gradAttrs as unknown as tf.NamedAttrMap,
      );
    return { qkv: () => dqkv };
  },
};

/** A ConvBlock's weights and shape as the portable values functions take them. */
function convBlockValuesArgs(
  backend: PortableBackend,
  x: tf.TensorInfo,
  w: Record<'w1' | 'gamma1' | 'beta1' | 'w2' | 'gamma2' | 'beta2', tf.TensorInfo>,
  bias: tf.TensorInfo | null,
  { groups1, groups2, eps, residual }: ConvBlockAttrs,
): ConvBlockValuesArgs {
  const same = (xShape: readonly number[], wShape: readonly number[]) =>
    tf.backend_util.computeConv2DInfo(
      xShape as [number, number, number, number],
      wShape as [number, number, number, number],
      1,
      1,
      'same',
    );
  const conv1 = same(x.shape, w.w1.shape);
  return {
    w1: read(backend, w.w1),
    gamma1: read(backend, w.gamma1),
    beta1: read(backend, w.beta1),
    w2: read(backend, w.w2),
    gamma2: read(backend, w.gamma2),
    beta2: read(backend, w.beta2),
    bias: bias ? read(backend, bias) : null,
    conv1,
    conv2: same(conv1.outShape, w.w2.shape),
    groups1,
    groups2,
    eps,
    residual,
  };
}

/** The portable double-conv block kernel (any backend; plain loops, slow: a fallback). */
export function convBlockPortable({
  inputs: { x, w1, gamma1, beta1, w2, gamma2, beta2, bias },
  attrs,
  backend,
}: {
  inputs: ConvBlockInputs;
  attrs: ConvBlockAttrs;
  backend: PortableBackend;
}): tf.TensorInfo[] {
  if (!x || !w1 || !gamma1 || !beta1 || !w2 || !gamma2 || !beta2 || (attrs.hasBias && !bias)) {
    throw new Error(`${ConvBlock}: expected inputs x, w1, gamma1, beta1, w2, gamma2, beta2 (bias)`);
  }
  const w = { w1, gamma1, beta1, w2, gamma2, beta2 };
  const a = convBlockValuesArgs(backend, x, w, attrs.hasBias && bias ? bias : null, attrs);
  const r = convBlockValues(read(backend, x), a);
  const b = x.shape[0];
  return [
    output(backend, r.y, a.conv2.outShape),
    output(backend, r.h1, a.conv1.outShape),
    output(backend, r.h2, a.conv2.outShape),
    output(backend, r.mean1, [b, attrs.groups1]),
    output(backend, r.rstd1, [b, attrs.groups1]),
    output(backend, r.mean2, [b, attrs.groups2]),
    output(backend, r.rstd2, [b, attrs.groups2]),
  ];
}

/** The portable double-conv block gradient kernel (any backend). */
export function convBlockGradPortable({
  inputs,
  attrs,
  backend,
}: {
  inputs: ConvBlockGradInputs;
  attrs: ConvBlockAttrs;
  backend: PortableBackend;
}): tf.TensorInfo[] {
  const { dy, x, w1, gamma1, beta1, w2, gamma2, beta2, h1, h2, mean1, rstd1, mean2, rstd2 } =
    inputs;
  if (!dy || !x || !w1 || !gamma1 || !beta1 || !w2 || !gamma2 || !beta2) {
    throw new Error(`${ConvBlockGrad}: expected inputs dy, x and the weights`);
  }
  if (!h1 || !h2 || !mean1 || !rstd1 || !mean2 || !rstd2) {
    throw new Error(`${ConvBlockGrad}: expected inputs h1, h2, mean1, rstd1, mean2, rstd2`);
  }
  const w = { w1, gamma1, beta1, w2, gamma2, beta2 };
  const a = convBlockValuesArgs(backend, x, w, null, attrs);
  const saved = { h1, h2, mean1, rstd1, mean2, rstd2 };
  const s = Object.fromEntries(
    Object.entries(saved).map(([k, t]) => [k, read(backend, t)]),
  ) as Record<keyof typeof saved, Float32Array>;
  const r = convBlockGradValues(read(backend, dy), read(backend, x), a, s, attrs.hasBias);
  if (!attrs.inputGrad) r.dx.fill(0);
  const out = [
    output(backend, r.dx, x.shape),
    output(backend, r.dw1, w1.shape),
    output(backend, r.dgamma1, gamma1.shape),
    output(backend, r.dbeta1, beta1.shape),
    output(backend, r.dw2, w2.shape),
    output(backend, r.dgamma2, gamma2.shape),
    output(backend, r.dbeta2, beta2.shape),
  ];
  if (r.dbias) out.push(output(backend, r.dbias, [x.shape[0], 1, 1, a.conv2.outChannels]));
  return out;
}

/** The fused kernels' portable implementations, which any backend can run. */
export const portableFusedKernels: { kernelName: string; kernelFunc: tf.KernelFunc }[] = [
  { kernelName: GroupNorm, kernelFunc: groupNormPortable as unknown as tf.KernelFunc },
  { kernelName: GroupNormGrad, kernelFunc: groupNormGradPortable as unknown as tf.KernelFunc },
  { kernelName: Gelu, kernelFunc: geluPortable as unknown as tf.KernelFunc },
  { kernelName: GeluGrad, kernelFunc: geluGradPortable as unknown as tf.KernelFunc },
  { kernelName: Attention, kernelFunc: attentionPortable as unknown as tf.KernelFunc },
  { kernelName: AttentionGrad, kernelFunc: attentionGradPortable as unknown as tf.KernelFunc },
  { kernelName: ConvBlock, kernelFunc: convBlockPortable as unknown as tf.KernelFunc },
  { kernelName: ConvBlockGrad, kernelFunc: convBlockGradPortable as unknown as tf.KernelFunc },
];

let gradients = false;

/**
 * Registers the fused kernels' gradients (once) and their portable implementations for
 * `backendName` where it has none yet ('native' registers its own C++ ones first).
 * @example ensureFusedKernels(tf.getBackend());
 */
export function ensureFusedKernels(backendName: string): void {
  if (!gradients) {
    gradients = true;
    tf.registerGradient(groupNormGradConfig);
    tf.registerGradient(geluGradConfig);
    tf.registerGradient(attentionGradConfig);
  }
  for (const { kernelName, kernelFunc } of portableFusedKernels) {
    if (!tf.getKernel(kernelName, backendName)) {
      tf.registerKernel({ kernelName, backendName, kernelFunc });
    }
  }
}
