import * as tf from '@tensorflow/tfjs';
import { f32, type CpuBackend } from './kernels/shared.js';
import { loadNativeAddon } from './native/addon.js';
import { nativeBackendActive } from './native/backend.js';

// Fused optimiser step. tfjs's Adam runs ~13 kernels per weight tensor and an EMA of the
// weights ~4 more, each a full pass with ~10 µs of overhead; on 'native' this does the whole
// update of every tensor in one addon call and one pass over memory.

/** What tf.Optimizer's getWeights/setWeights trade in. */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

/**
 * The Float32Array a variable's value lives in, made the variable's own first (copied, if
 * another tensor shares its data: a clone, or the tensor it was made from) so that writing it
 * in place changes nothing else. Null when the value is not float32 on a cpu-type backend.
 */
function ownValues(backend: CpuBackend, v: tf.Variable): Float32Array | null {
  const values = f32(backend, v);
  if (!values || backend.data.get(v.dataId)?.values !== values) return null;
  if (backend.refCount(v.dataId) === 1) return values;
  tf.tidy(() => v.assign(tf.tensor(values.slice(), v.shape, 'float32')));
  const own = backend.data.get(v.dataId)?.values;
  return own instanceof Float32Array && backend.refCount(v.dataId) === 1 ? own : null;
}

/**
 * `tf.train.adam(learningRate, beta1, beta2, epsilon)` followed by an exponential moving average
 * of the weights, `ema = decay·ema + (1−decay)·weight`, as one step. On 'native' one addon call
 * updates every weight, both its moments and its EMA in place, rounding each intermediate to
 * float32 in tfjs's order (so it matches tfjs's Adam on the same gradients bit for bit);
 * elsewhere it runs the very composition of tfjs ops that AdamOptimizer.applyGradients runs.
 * `getWeights`/`setWeights` take and give what tf.AdamOptimizer's do: [iterations, first
 * moments…, second moments…], the moments by position in the variable list.
 * @example
 * const opt = new FusedAdamEma(1e-3);
 * const { value, grads } = tf.variableGrads(lossFn, vars);
 * opt.step(vars, vars.map((v) => grads[v.name]), emas, 0.99);
 */
export class FusedAdamEma {
  /** Steps taken (restored by setWeights). */
  iterations = 0;
  // beta1ᵗ and beta2ᵗ at the next step, as float32 values (tfjs keeps them in scalar variables).
  private accBeta1: number;
  private accBeta2: number;
  private m: { name: string; variable: tf.Variable }[] = [];
  private v: { name: string; variable: tf.Variable }[] = [];

  constructor(
    readonly learningRate: number,
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly epsilon = 1e-7,
  ) {
    this.accBeta1 = Math.fround(beta1);
    this.accBeta2 = Math.fround(beta2);
  }

  /**
   * One Adam step on `vars` with `grads` (same order; a missing gradient leaves its weight
   * unchanged, as tfjs does), then the EMA update of `emas[i]` towards `vars[i]` for every i.
   */
  step(
    vars: tf.Variable[],
    grads: (tf.Tensor | undefined)[],
    emas: tf.Variable[],
    decay: number,
  ): void {
    if (grads.length !== vars.length || emas.length !== vars.length) {
      throw new Error('FusedAdamEma.step: vars, grads and emas must be equally long');
    }
    vars.forEach((x, i) => {
      // Like tfjs: zero moments, created at a weight's first step, owning their storage.
      this.m[i] ??= {
        name: `${x.name}/m`,
        variable: tf.tidy(() => tf.zerosLike(x).variable(false)),
      };
      this.v[i] ??= {
        name: `${x.name}/v`,
        variable: tf.tidy(() => tf.zerosLike(x).variable(false)),
      };
    });
    if (!this.stepNative(vars, grads, emas, decay)) this.stepOps(vars, grads, emas, decay);
    this.accBeta1 = Math.fround(this.accBeta1 * Math.fround(this.beta1));
    this.accBeta2 = Math.fround(this.accBeta2 * Math.fround(this.beta2));
    this.iterations++;
  }

  private coefficients(decay: number): Float32Array {
    const { beta1: b1, beta2: b2 } = this;
    return Float32Array.of(
      b1,
      1 - b1,
      b2,
      1 - b2,
      1 - this.accBeta1,
      1 - this.accBeta2,
      this.epsilon,
      -this.learningRate,
      decay,
      1 - decay,
    );
  }

  private stepNative(
    vars: tf.Variable[],
    grads: (tf.Tensor | undefined)[],
    emas: tf.Variable[],
    decay: number,
  ): boolean {
    const lib = nativeBackendActive() ? loadNativeAddon() : null;
    if (!lib) return false;
    const backend = tf.backend() as unknown as CpuBackend;
    const lists: [Float32Array[], Float32Array[], Float32Array[], Float32Array[], Float32Array[]] =
      [[], [], [], [], []];
    const gradless: number[] = [];
    for (let i = 0; i < vars.length; i++) {
      const g = grads[i];
      if (!g) {
        gradless.push(i);
        continue;
      }
      const row = [
        ownValues(backend, vars[i]),
        f32(backend, g),
        ownValues(backend, this.m[i].variable),
        ownValues(backend, this.v[i].variable),
        ownValues(backend, emas[i]),
      ];
      const n = vars[i].size;
      if (row.some((a) => !a || a.length !== n)) return false;
      row.forEach((a, k) => lists[k].push(a as Float32Array));
    }
    lib.adamEma(...lists, this.coefficients(decay));
    // A weight without a gradient keeps its value; its EMA still moves towards it.
    if (gradless.length > 0) {
      tf.tidy(() => {
        for (const i of gradless) emaOps(emas[i], vars[i], decay);
      });
    }
    return true;
  }

  /** AdamOptimizer.applyGradients's ops, then the EMA's. */
  private stepOps(
    vars: tf.Variable[],
    grads: (tf.Tensor | undefined)[],
    emas: tf.Variable[],
    decay: number,
  ): void {
    tf.tidy(() => {
      const oneMinusAcc1 = tf.sub(1, tf.scalar(this.accBeta1));
      const oneMinusAcc2 = tf.sub(1, tf.scalar(this.accBeta2));
      vars.forEach((x, i) => {
        const g = grads[i];
        if (!g) return;
        const m = this.m[i].variable;
        const v = this.v[i].variable;
        const m1 = tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1));
        const v1 = tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        const mHat = tf.div(m1, oneMinusAcc1);
        const vHat = tf.div(v1, oneMinusAcc2);
        m.assign(m1);
        v.assign(v1);
        const step = tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), this.epsilon)), -this.learningRate);
        x.assign(tf.add(step, x));
      });
    });
    tf.tidy(() => vars.forEach((x, i) => emaOps(emas[i], x, decay)));
  }

  /** [iterations (a new int32 scalar), first moments…, second moments…] (the moments its own). */
  getWeights(): Promise<NamedTensor[]> {
    const moments = [...this.m, ...this.v].map((w) => ({ name: w.name, tensor: w.variable }));
    return Promise.resolve([
      { name: 'iter', tensor: tf.scalar(this.iterations, 'int32') },
      ...moments,
    ]);
  }

  /** Restores what getWeights gave (the caller may dispose its tensors afterwards). */
  async setWeights(weights: NamedTensor[]): Promise<void> {
    if (weights.length === 0 || weights.length % 2 !== 1) {
      throw new Error('FusedAdamEma.setWeights: expected [iterations, m…, v…]');
    }
    this.iterations = (await weights[0].tensor.data())[0];
    // beta^(iterations+1) by the float32 products step() takes, not tf.pow as tfjs's
    // AdamOptimizer.setWeights does (they differ in the last bits): the next step is then
    // exactly the one an uninterrupted optimiser takes.
    this.accBeta1 = Math.fround(this.beta1);
    this.accBeta2 = Math.fround(this.beta2);
    for (let i = 0; i < this.iterations; i++) {
      this.accBeta1 = Math.fround(this.accBeta1 * Math.fround(this.beta1));
      this.accBeta2 = Math.fround(this.accBeta2 * Math.fround(this.beta2));
    }
    this.disposeMoments();
    const half = (weights.length - 1) / 2;
    // Shares the data with w.tensor until the first step's ownValues copies it.
    const adopt = (w: NamedTensor): { name: string; variable: tf.Variable } => ({
      name: w.name,
      variable: w.tensor.variable(false),
    });
    this.m = weights.slice(1, 1 + half).map(adopt);
    this.v = weights.slice(1 + half).map(adopt);
  }

  dispose(): void {
    this.disposeMoments();
  }

  private disposeMoments(): void {
    tf.dispose([...this.m, ...this.v].map((w) => w.variable));
    this.m = [];
    this.v = [];
  }
}

function emaOps(ema: tf.Variable, x: tf.Tensor, decay: number): void {
  ema.assign(tf.add(tf.mul(ema, decay), tf.mul(x, 1 - decay)));
}
