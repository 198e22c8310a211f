import * as tf from '@tensorflow/tfjs';
import { alloc, f32, nativeKernel, sizeOf, type NativeKernelArgs } from './shared.js';

/**
 * Batched matrix product for equal batches or one broadcast matrix; tfjs's general batch
 * broadcasting runs on the cpu kernel.
 */
export function batchMatMul({
  inputs: { a, b },
  attrs: { transposeA, transposeB },
  backend,
  addon,
}: NativeKernelArgs<tf.BatchMatMulInputs, tf.BatchMatMulAttrs>): tf.TensorInfo | null {
  if (!a || !b) return null;
  const transA = transposeA === true;
  const transB = transposeB === true;
  const ar = a.shape.length;
  const br = b.shape.length;
  if (ar < 2 || br < 2) return null;
  const m = transA ? a.shape[ar - 1] : a.shape[ar - 2];
  const kA = transA ? a.shape[ar - 2] : a.shape[ar - 1];
  const kB = transB ? b.shape[br - 1] : b.shape[br - 2];
  const n = transB ? b.shape[br - 2] : b.shape[br - 1];
  if (kA !== kB) return null; // the cpu kernel throws the proper error
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = sizeOf(outerA);
  const batchB = sizeOf(outerB);
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return null;
  let outer: number[];
  if (batchA === batchB && outerA.length === outerB.length) outer = outerA;
  else if (batchB === 1 && outerA.length >= outerB.length) outer = outerA;
  else if (batchA === 1 && outerB.length >= outerA.length) outer = outerB;
  else return null;
  const av = f32(backend, a);
  const bv = f32(backend, b);
  if (!av || !bv) return null;
  const batch = Math.max(batchA, batchB);
  const out = alloc(batch * m * n);
  const params = Int32Array.from([
    batch,
    m,
    n,
    kA,
    batchA === 1 ? 0 : m * kA,
    batchB === 1 ? 0 : kA * n,
    transA ? 1 : 0,
    transB ? 1 : 0,
  ]);
  addon.batchMatMul(av, bv, out, params);
  return backend.makeTensorInfo([...outer, m, n], 'float32', out);
}

export const batchMatMulConfig = nativeKernel(tf.BatchMatMul, batchMatMul);
