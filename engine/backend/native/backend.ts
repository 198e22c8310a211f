import * as tf from '@tensorflow/tfjs';
import { ensureFusedKernels } from '../fused/kernels.js';
import type { CpuBackend, NativeKernelFunc } from '../kernels/shared.js';
import { nativeKernelConfigs } from '../register-all-kernels.js';
import { loadNativeAddon } from './addon.js';
import { nativeBufferPool, type PooledBackend } from './buffer-pool.js';

/**
 * The 'native' tfjs backend: the pure-JS cpu backend with its hot kernels (convolutions and
 * their gradients, matMul, the memory-bound ops the UNet spends its time in, and the fused
 * GroupNorm and GELU) replaced by C++ kernels from the `phasewatch_native` N-API addon,
 * threaded over every core. Tensors live in the same TypedArrays as on 'cpu', so the addon
 * reads and writes them in place.
 */
export const NATIVE_BACKEND = 'native';

let registered = false;
const hits = new Map<string, number>();

/**
 * How often each native kernel ran natively (rather than falling back to the cpu kernel) since
 * the last reset; for tests and profiling.
 * @example resetNativeKernelHits(); tf.conv2d(x, w, 1, 'same'); nativeKernelHits().Conv2D // 1
 */
export function nativeKernelHits(): Record<string, number> {
  return Object.fromEntries(hits);
}

export function resetNativeKernelHits(): void {
  hits.clear();
}

/** Whether the 'native' backend is registered and the active tfjs backend. */
export function nativeBackendActive(): boolean {
  return registered && tf.getBackend() === NATIVE_BACKEND;
}

/**
 * Registers the 'native' tfjs backend (idempotent). Returns false when the addon is not
 * built or does not load (`nativeUnavailableReason()` says why); tfjs keeps its other
 * backends then.
 * @example if (registerNativeBackend()) await tf.setBackend('native');
 */
export function registerNativeBackend(): boolean {
  if (registered) return true;
  const addon = loadNativeAddon();
  const cpuFactory = tf.findBackendFactory('cpu');
  if (!addon || !cpuFactory) return false;
  // A fresh MathBackendCPU instance: the cpu kernels run on it unchanged, ours replace some.
  // Its first write would print tfjs's "install tfjs-node to speed things up" banner, which
  // is wrong advice on this backend: mark it as already used.
  tf.registerBackend(
    NATIVE_BACKEND,
    async () => {
      const backend = (await cpuFactory()) as tf.KernelBackend & { firstUse?: boolean };
      backend.firstUse = false;
      nativeBufferPool.install(backend as unknown as PooledBackend);
      return backend;
    },
    0,
  );
  // The fused kernels' portable versions on cpu are the fallbacks of their native ones.
  ensureFusedKernels('cpu');
  const native = new Map<string, NativeKernelFunc>(
    nativeKernelConfigs.map((c) => [c.kernelName, c.kernelFunc]),
  );
  for (const config of tf.getKernelsForBackend('cpu')) {
    const nativeFunc = native.get(config.kernelName);
    const cpuFunc = config.kernelFunc;
    const name = config.kernelName;
    const kernelFunc: tf.KernelFunc = nativeFunc
      ? (params) => {
          const out = nativeFunc({
            inputs: params.inputs,
            attrs: params.attrs ?? {},
            backend: params.backend as unknown as CpuBackend,
            addon,
          });
          if (out === null) return cpuFunc(params);
          hits.set(name, (hits.get(name) ?? 0) + 1);
          return out;
        }
      : cpuFunc;
    tf.registerKernel({ ...config, backendName: NATIVE_BACKEND, kernelFunc });
  }
  registered = true;
  return true;
}

/** Kernel names the addon implements (the rest run the cpu backend's JS). */
export function nativeKernelNames(): string[] {
  return loadNativeAddon() ? nativeKernelConfigs.map((c) => c.kernelName) : [];
}
