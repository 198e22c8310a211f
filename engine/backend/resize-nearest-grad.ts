import * as tf from '@tensorflow/tfjs';

/**
 * For each index of a nearest-neighbour resize from `oldSize` to `newSize`, the source index
 * it copies (tfjs's rule for `alignCorners` and `halfPixelCenters`).
 * @example nearestSourceMap(2, 4, false, false); // Int32Array [0, 0, 1, 1]
 */
export function nearestSourceMap(
  oldSize: number,
  newSize: number,
  alignCorners: boolean,
  halfPixelCenters: boolean,
): Int32Array {
  const inEff = alignCorners && newSize > 1 ? oldSize - 1 : oldSize;
  const outEff = alignCorners && newSize > 1 ? newSize - 1 : newSize;
  const ratio = inEff / outEff;
  const map = new Int32Array(newSize);
  for (let r = 0; r < newSize; r++) {
    const frac = halfPixelCenters ? ratio * (r + 0.5) : ratio * r;
    const src = Math.min(oldSize - 1, alignCorners ? Math.round(frac) : Math.floor(frac));
    map[r] = halfPixelCenters ? Math.max(0, src) : src;
  }
  return map;
}

/** Source rows and columns of a nearest resize from h×w to nh×nw, given the op's attributes. */
export function nearestSourceMaps(
  h: number,
  w: number,
  nh: number,
  nw: number,
  attrs: { alignCorners?: unknown; halfPixelCenters?: unknown } | undefined,
): { rows: Int32Array; cols: Int32Array } {
  const ac = attrs?.alignCorners === true;
  const hp = attrs?.halfPixelCenters === true;
  return { rows: nearestSourceMap(h, nh, ac, hp), cols: nearestSourceMap(w, nw, ac, hp) };
}

interface CpuLike {
  data: { get(dataId: object): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): tf.TensorInfo;
}

let fixed = false;

/**
 * tfjs's cpu ResizeNearestNeighborGrad reads `dy` with the image's batch stride, so for a
 * batch of more than one its gradient is wrong (the UNet's upsampling trains on garbage).
 * This replaces it, once, with the exact adjoint: every `dy` element is added to the pixel
 * it was copied from.
 */
export function fixCpuResizeNearestGrad(): void {
  if (fixed) return;
  fixed = true;
  tf.unregisterKernel('ResizeNearestNeighborGrad', 'cpu');
  tf.registerKernel({
    kernelName: 'ResizeNearestNeighborGrad',
    backendName: 'cpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { images, dy } = inputs as { images: tf.TensorInfo; dy: tf.TensorInfo };
      const cpu = backend as unknown as CpuLike;
      const dyv = cpu.data.get(dy.dataId).values as Float32Array;
      const [n, h, w, c] = images.shape;
      const [, nh, nw] = dy.shape;
      const { rows, cols } = nearestSourceMaps(h, w, nh, nw, attrs);
      const out = new Float32Array(n * h * w * c);
      let i = 0;
      for (let b = 0; b < n; b++) {
        for (let y = 0; y < nh; y++) {
          const row = (b * h + rows[y]) * w;
          for (let x = 0; x < nw; x++) {
            const base = (row + cols[x]) * c;
            for (let ch = 0; ch < c; ch++) out[base + ch] += dyv[i++];
          }
        }
      }
      return cpu.makeTensorInfo([n, h, w, c], 'float32', out);
    },
  });
}
