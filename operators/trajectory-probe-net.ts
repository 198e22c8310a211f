import * as tf from '@tensorflow/tfjs';
import { createRng } from '../streams/random.js';

/** The probe heads of seed 000: over a whole trajectory (GRU, attention) or one point (MLP). */
export type TrajectoryProbeKind = 'gru' | 'attention' | 'mlp';

export interface TrajectoryProbeFitOptions {
  kind: TrajectoryProbeKind;
  /** Number of classes. */
  classes: number;
  /** Hidden width (default 32). */
  hidden?: number;
  /** Full-batch Adam iterations (default 300). */
  iterations?: number;
  /** Adam learning rate (default 1e-2). */
  lr?: number;
  /** L2 penalty on the weights (default 1e-4). */
  l2?: number;
  seed?: number;
}

export interface TrajectoryProbeResult {
  /** Test accuracy. */
  accuracy: number;
  /** Attention variant: the mean attention weight on each timestep over the test rows. */
  attention?: number[];
  /** Final training loss (cross-entropy). */
  loss: number;
}

/**
 * Trains a small probe head on standardised trajectories and scores it on test rows.
 * `train`/`test` are n*L*D (row-major: example, timestep, feature); with kind 'mlp' L must be 1.
 * GRU: a gated recurrent unit runs over the L timesteps (in the given order) and its last
 * state is classified. Attention: each step is embedded (shared linear + learned timestep
 * embedding, ReLU), a learned query scores them, the softmax-weighted sum is classified — its
 * weights are seed 000's attention profile over t. MLP: one ReLU hidden layer on one timestep.
 * Deterministic for a seed; every tensor is freed.
 *
 * @example fitTrajectoryProbe(train, trainY, test, testY, 10, 256, { kind: 'gru', classes: 3 });
 */
export async function fitTrajectoryProbe(
  train: Float32Array,
  trainY: ArrayLike<number>,
  test: Float32Array,
  testY: ArrayLike<number>,
  L: number,
  D: number,
  opts: TrajectoryProbeFitOptions,
): Promise<TrajectoryProbeResult> {
  const { kind, classes: K } = opts;
  if (kind !== 'gru' && kind !== 'attention' && kind !== 'mlp') {
    throw new Error(
      `trajectory probe kind must be one of gru, attention, mlp (got "${String(kind)}")`,
    );
  }
  if (kind === 'mlp' && L !== 1) throw new Error(`an mlp probe takes one timestep (got L = ${L})`);
  const nTrain = trainY.length;
  const nTest = testY.length;
  if (train.length !== nTrain * L * D || test.length !== nTest * L * D) {
    throw new Error(`train/test must hold n*L*D = n*${L}*${D} values per row of labels`);
  }
  const H = opts.hidden ?? 32;
  const iterations = opts.iterations ?? 300;
  const l2 = opts.l2 ?? 1e-4;
  const rng = createRng(opts.seed ?? 0);
  // Standardise each (timestep, feature) column on the training rows.
  const mean = new Float32Array(L * D);
  const inv = new Float32Array(L * D);
  for (let i = 0; i < nTrain; i++)
    for (let c = 0; c < L * D; c++) mean[c] += train[i * L * D + c] / nTrain;
  for (let i = 0; i < nTrain; i++) {
    for (let c = 0; c < L * D; c++) inv[c] += (train[i * L * D + c] - mean[c]) ** 2 / nTrain;
  }
  for (let c = 0; c < L * D; c++) inv[c] = inv[c] > 1e-12 ? 1 / Math.sqrt(inv[c]) : 0;
  const standardise = (x: Float32Array, n: number): Float32Array => {
    const out = new Float32Array(x.length);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < L * D; c++) out[i * L * D + c] = (x[i * L * D + c] - mean[c]) * inv[c];
    }
    return out;
  };

  const vars: Record<string, tf.Variable> = {};
  const param = (name: string, shape: number[], scale: number): tf.Variable => {
    const size = shape.reduce((a, b) => a * b, 1);
    const init = tf.tensor(
      Float32Array.from({ length: size }, () => rng.normal() * scale),
      shape,
    );
    vars[name] = tf.variable(init, true);
    init.dispose();
    return vars[name];
  };
  const sd = (fanIn: number): number => Math.sqrt(1 / fanIn);
  if (kind === 'gru') {
    for (const g of ['z', 'r', 'n']) {
      param(`W${g}`, [D, H], sd(D));
      param(`U${g}`, [H, H], sd(H));
      param(`b${g}`, [H], 0);
    }
  } else if (kind === 'attention') {
    param('W', [D, H], sd(D));
    param('pos', [L, H], 0.1);
    param('b', [H], 0);
    param('Wa', [H, H], sd(H));
    param('q', [H, 1], sd(H));
  } else {
    param('W', [D, H], sd(D));
    param('b', [H], 0);
  }
  param('Wo', [H, K], sd(H));
  param('bo', [K], 0);

  const forward = (x: tf.Tensor3D): { logits: tf.Tensor; alpha?: tf.Tensor } => {
    const n = x.shape[0];
    if (kind === 'gru') {
      let h: tf.Tensor = tf.zeros([n, H]);
      for (let t = 0; t < L; t++) {
        const xt = tf.reshape(tf.slice(x, [0, t, 0], [n, 1, D]), [n, D]);
        const z = tf.sigmoid(
          tf.add(tf.add(tf.matMul(xt, vars.Wz), tf.matMul(h, vars.Uz)), vars.bz),
        );
        const r = tf.sigmoid(
          tf.add(tf.add(tf.matMul(xt, vars.Wr), tf.matMul(h, vars.Ur)), vars.br),
        );
        const cand = tf.tanh(
          tf.add(tf.add(tf.matMul(xt, vars.Wn), tf.mul(r, tf.matMul(h, vars.Un))), vars.bn),
        );
        h = tf.add(tf.mul(tf.sub(1, z), cand), tf.mul(z, h));
      }
      return { logits: tf.add(tf.matMul(h, vars.Wo), vars.bo) };
    }
    if (kind === 'attention') {
      const flat = tf.reshape(x, [n * L, D]);
      const e = tf.relu(
        tf.add(tf.reshape(tf.matMul(flat, vars.W), [n, L, H]), tf.add(vars.pos, vars.b)),
      );
      const scores = tf.reshape(
        tf.matMul(tf.tanh(tf.matMul(tf.reshape(e, [n * L, H]), vars.Wa)), vars.q),
        [n, L],
      );
      const alpha = tf.softmax(scores);
      const pooled = tf.sum(tf.mul(e, tf.expandDims(alpha, 2)), 1);
      return { logits: tf.add(tf.matMul(pooled, vars.Wo), vars.bo), alpha };
    }
    const h = tf.relu(tf.add(tf.matMul(tf.reshape(x, [n, D]), vars.W), vars.b));
    return { logits: tf.add(tf.matMul(h, vars.Wo), vars.bo) };
  };

  const optimizer = tf.train.adam(opts.lr ?? 1e-2);
  const xTrain = tf.tensor3d(standardise(train, nTrain), [nTrain, L, D]);
  const yTrain = tf.tidy(() => tf.oneHot(tf.tensor1d(Int32Array.from(trainY), 'int32'), K));
  const weights = Object.entries(vars)
    .filter(([n]) => !n.startsWith('b') && n !== 'pos')
    .map(([, v]) => v);
  let loss = NaN;
  try {
    for (let it = 0; it < iterations; it++) {
      const value = optimizer.minimize(
        () =>
          tf.tidy(() => {
            const ce = tf.losses.softmaxCrossEntropy(yTrain, forward(xTrain).logits);
            const reg = weights.reduce(
              (s: tf.Tensor, w) => tf.add(s, tf.sum(tf.square(w))),
              tf.scalar(0),
            );
            return tf.add<tf.Scalar>(ce, tf.mul(reg, l2));
          }),
        it === iterations - 1,
        Object.values(vars),
      );
      if (value) {
        loss = (await value.data())[0];
        value.dispose();
      }
      if (it % 20 === 19) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const xTest = tf.tensor3d(standardise(test, nTest), [nTest, L, D]);
    const result = tf.tidy(() => {
      const o = forward(xTest);
      return { pred: tf.argMax(o.logits, 1), alpha: o.alpha ? tf.mean(o.alpha, 0) : tf.zeros([0]) };
    });
    const p = await result.pred.data();
    const alpha = await result.alpha.data();
    const attention = kind === 'attention' ? Array.from(alpha, Number) : undefined;
    tf.dispose([xTest, result.pred, result.alpha]);
    let hits = 0;
    for (let i = 0; i < nTest; i++) if (p[i] === testY[i]) hits++;
    return { accuracy: nTest > 0 ? hits / nTest : 0, attention, loss };
  } finally {
    tf.dispose([xTrain, yTrain]);
    tf.dispose(Object.values(vars));
    optimizer.dispose();
  }
}
