import * as tf from '@tensorflow/tfjs';

/** Backends whose Conv2DBackpropFilter is missing (wasm) or far too slow to train with (cpu). */
const SLOW_FILTER_GRAD = new Set(['cpu', 'wasm']);

/**
 * A stride-1 'same' 2-D convolution (NHWC, odd square kernel) that trains on every backend.
 * On cpu and wasm the gradient is computed by hand: the filter gradient as a matMul of dy with
 * the k×k shifted slices of the padded input, the input gradient as a convolution of dy with
 * the flipped, transposed filter. Elsewhere it is plain `tf.conv2d`.
 * @example const y = conv2d(x, w); // x [B,H,W,Ci], w [k,k,Ci,Co] → [B,H,W,Co]
 */
export function conv2d(x: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  if (!SLOW_FILTER_GRAD.has(tf.getBackend())) return tf.conv2d(x, w, 1, 'same');
  return sliceGradConv(x, w);
}

/** The hand-written-gradient convolution, exported for tests and benchmarks. */
export function sliceGradConv(x: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  const [k, k2, ci, co] = w.shape;
  if (k !== k2 || k % 2 !== 1)
    throw new Error(`conv2d kernel must be square and odd (got ${k}×${k2})`);
  if (x.shape[3] !== ci) {
    throw new Error(`conv2d input has ${x.shape[3]} channels but the filter expects ${ci}`);
  }
  const f = tf.customGrad((xIn, wIn, save) => {
    const xt = xIn as tf.Tensor4D;
    const wt = wIn as tf.Tensor4D;
    (save as (tensors: tf.Tensor[]) => void)([xt, wt]);
    return {
      value: tf.conv2d(xt, wt, 1, 'same'),
      gradFunc: (dy, saved) => {
        const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
        const dy4 = dy as tf.Tensor4D;
        return [inputGrad(dy4, ws), filterGrad(xs, dy4, k, co)];
      },
    };
  });
  return f(x, w) as tf.Tensor4D;
}

function inputGrad(dy: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    if (w.shape[0] === 1) {
      const [b, h, wd, co] = dy.shape;
      const wm = w.reshape([w.shape[2], co]);
      return tf.matMul(dy.reshape([b * h * wd, co]), wm, false, true).reshape([b, h, wd, -1]);
    }
    const flipped = tf.transpose<tf.Tensor4D>(tf.reverse(w, [0, 1]), [0, 1, 3, 2]);
    return tf.conv2d(dy, flipped, 1, 'same');
  });
}

function filterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, k: number, co: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, h, w, ci] = x.shape;
    const n = b * h * w;
    if (k === 1) {
      return tf.matMul(x.reshape([n, ci]).transpose(), dy.reshape([n, co])).reshape([1, 1, ci, co]);
    }
    // The k×k shifted slices of the zero-padded input, gathered in one depthwise convolution
    // with one-hot kernels (channel c*k²+tap holds input channel c shifted by tap); this beats
    // k² separate slice+matMul pairs by 2-5× on cpu and wasm. Then one matMul against dy.
    const taps = k * k;
    const oneHot = tf.tile<tf.Tensor4D>(tf.eye(taps).reshape([k, k, 1, taps]), [1, 1, ci, 1]);
    const patches = tf.depthwiseConv2d(x, oneHot, 1, 'same').reshape([n, ci * taps]);
    // wasm's matMul with transposeA is ~5× slower than transposing dy explicitly.
    const g = tf.matMul(dy.reshape([n, co]).transpose(), patches); // [co, ci*taps]
    return g.reshape([co, ci, taps]).transpose([2, 1, 0]).reshape<tf.Tensor4D>([k, k, ci, co]);
  });
}
