import * as tf from '@tensorflow/tfjs';
import { Gelu, type GeluInputs } from './kernel-names.js';
import { ensureFusedKernels } from './kernels.js';

/**
 * Exact GELU, x·Φ(x) = 0.5·x·(1 + erf(x/√2)); one kernel forward and one backward on every
 * backend.
 * @example const y = gelu(tf.tensor([-1, 0, 1])); // ≈ [-0.159, 0, 0.841]
 */
export function gelu<T extends tf.Tensor>(x: T): T {
  if (x.dtype !== 'float32') throw new Error(`gelu: x must be float32 (got ${x.dtype})`);
  ensureFusedKernels(tf.getBackend());
  const inputs: GeluInputs = { x };
  return tf.engine().runKernel<T>(Gelu, inputs as unknown as tf.NamedTensorMap, {});
}
