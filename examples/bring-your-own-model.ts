/**
 * A model of the user's own, trained and watched by phasewatch's public parts: a 2-layer MLP
 * denoiser (tfjs) on 8×8 Gaussian bumps, conditioned on the bump's (x, y), implementing the
 * `Model` interface. `training` drives it, `snapshotEvery` samples it (DDIM) and
 * `watchPhases` decides its phase from its hidden layer — the same operators as the UNet's.
 *
 *   npx phasewatch run examples/bring-your-own-model.ts --serve
 */
import * as tf from '@tensorflow/tfjs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { finalize, map, merge, share } from 'rxjs';
import {
  gaussianBumps,
  Gate,
  makeSchedule,
  snapshotEvery,
  snapshotLabels,
  training,
  watchPhases,
} from 'phasewatch';
import type {
  Batch,
  Model,
  ModelSample,
  ModelSampleOptions,
  Sampler,
  ScriptContext,
} from 'phasewatch';

const SIZE = 8;
const T = 50;

/** Timestep t and the (x, y) label, as sinusoidal features the MLP reads beside the image. */
function conditioning(t: number[], labels: Float32Array): tf.Tensor2D {
  const rows = t.map((ti, i) => {
    const f: number[] = [];
    for (const [v, scale] of [
      [ti, T],
      [labels[2 * i], SIZE],
      [labels[2 * i + 1], SIZE],
    ] as const) {
      for (let k = 1; k <= 4; k++) {
        f.push(Math.sin((Math.PI * k * v) / scale), Math.cos((Math.PI * k * v) / scale));
      }
    }
    return f;
  });
  return tf.tensor2d(rows);
}

type Weights = tf.Variable[];

class MlpDenoiser implements Model {
  readonly kind = 'mlp-denoiser';
  step = 0;
  private readonly schedule = makeSchedule({ T });
  private readonly weights: Weights;
  private readonly optimizer = tf.train.adam(2e-3);
  private seed = 1;

  constructor(private readonly hidden = 128) {
    const inDim = SIZE * SIZE + 24;
    const init = (shape: number[], scale: number) =>
      tf.tidy(() => tf.variable(tf.randomNormal(shape, 0, scale, 'float32', this.seed++)));
    this.weights = [
      init([inDim, hidden], Math.sqrt(2 / inDim)),
      tf.tidy(() => tf.variable(tf.zeros([hidden]))),
      init([hidden, SIZE * SIZE], Math.sqrt(1 / hidden)),
      tf.tidy(() => tf.variable(tf.zeros([SIZE * SIZE]))),
    ];
  }

  get paramCount(): number {
    return this.weights.reduce((n, w) => n + w.size, 0);
  }

  /** ε prediction and the hidden layer (the activation phasewatch embeds). */
  private apply(w: tf.Tensor[], x: tf.Tensor2D, t: number[], labels: Float32Array) {
    const h = tf.relu(tf.add(tf.matMul(tf.concat([x, conditioning(t, labels)], 1), w[0]), w[1]));
    return { eps: tf.add(tf.matMul(h, w[2]), w[3]), h };
  }

  trainStep({ images, labels, batch }: Batch): number {
    const t = Array.from({ length: batch }, () => Math.floor(Math.random() * T));
    const ab = t.map((ti) => this.schedule.alphaBars[ti]);
    const loss = tf.tidy(() => {
      const x0 = tf.tensor2d(images, [batch, SIZE * SIZE]);
      const noise = tf.randomNormal([batch, SIZE * SIZE]);
      const a = tf.tensor2d(ab.map(Math.sqrt), [batch, 1]);
      const b = tf.tensor2d(
        ab.map((v) => Math.sqrt(1 - v)),
        [batch, 1],
      );
      const xt = tf.add(tf.mul(x0, a), tf.mul(noise, b)) as tf.Tensor2D;
      return this.optimizer.minimize(
        () =>
          tf.losses.meanSquaredError(
            noise,
            this.apply(this.weights, xt, t, labels).eps,
          ) as tf.Scalar,
        true,
        this.weights,
      ) as tf.Scalar;
    });
    const value = loss.dataSync()[0];
    loss.dispose();
    this.step++;
    return value;
  }

  /** DDIM sampling with the given weights; the hidden layer at the first step is the activation. */
  private async sampleWith(
    w: tf.Tensor[],
    labels: Float32Array,
    opts: ModelSampleOptions,
  ): Promise<ModelSample> {
    const n = labels.length / 2;
    const steps = opts.steps ?? 10;
    const times = Array.from({ length: steps }, (_, i) =>
      Math.round(((T - 1) * (steps - i)) / steps),
    );
    let x = tf.randomNormal([n, SIZE * SIZE], 0, 1, 'float32', opts.seed) as tf.Tensor2D;
    let hidden: Float32Array = new Float32Array(0);
    for (let i = 0; i < times.length; i++) {
      const ab = this.schedule.alphaBars[times[i]];
      const abPrev = i + 1 < times.length ? this.schedule.alphaBars[times[i + 1]] : 1;
      const next = tf.tidy(() => {
        const { eps, h } = this.apply(w, x, new Array<number>(n).fill(times[i]), labels);
        if (i === 0) hidden = h.dataSync() as Float32Array;
        const x0 = tf.clipByValue(
          tf.div(tf.sub(x, tf.mul(eps, Math.sqrt(1 - ab))), Math.sqrt(ab)),
          -1,
          1,
        );
        const e = tf.div(tf.sub(x, tf.mul(x0, Math.sqrt(ab))), Math.sqrt(1 - ab));
        return tf.add(
          tf.mul(x0, Math.sqrt(abPrev)),
          tf.mul(e, Math.sqrt(1 - abPrev)),
        ) as tf.Tensor2D;
      });
      x.dispose();
      x = next;
      await new Promise((r) => setImmediate(r));
    }
    const images = (await x.data()) as Float32Array;
    x.dispose();
    return { images, activations: { hidden: { data: hidden, dim: this.hidden } } };
  }

  sample(conditions: Float32Array, opts: ModelSampleOptions): Promise<ModelSample> {
    return this.sampleWith(this.weights, conditions, opts);
  }

  freeze(): Sampler {
    const copy = this.weights.map((w) => tf.clone(w));
    return {
      step: this.step,
      sample: (c, o) => this.sampleWith(copy, c, o),
      dispose: () => tf.dispose(copy),
    };
  }

  async save(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    const values = await Promise.all(this.weights.map((w) => w.data()));
    await writeFile(
      join(dir, 'mlp.json'),
      JSON.stringify({ step: this.step, values: values.map((v) => Array.from(v)) }),
    );
  }

  async load(dir: string): Promise<void> {
    const saved = JSON.parse(await readFile(join(dir, 'mlp.json'), 'utf8')) as {
      step: number;
      values: number[][];
    };
    saved.values.forEach((v, i) => this.weights[i].assign(tf.tensor(v, this.weights[i].shape)));
    this.step = saved.step;
  }

  dispose(): void {
    tf.dispose(this.weights);
    this.optimizer.dispose();
  }
}

export default ({ config, createRun, record }: ScriptContext) => {
  const steps = Math.min(config.steps, 3000);
  const every = Math.min(config.snapshotEvery, steps);
  const data = gaussianBumps({ size: SIZE, dx: 0.5, sigma: 1 });
  const model = new MlpDenoiser();
  const store = createRun({
    name: 'mlp-denoiser',
    tags: ['example', 'byo-model'],
    config: {
      model: model.kind,
      size: SIZE,
      T,
      steps,
      snapshotEvery: every,
      params: model.paramCount,
    },
  });
  const gate = new Gate(2);
  const steps$ = training(model, data, { steps, batchSize: 64, seed: config.seed, gate }).pipe(
    share(),
  );
  const snaps$ = steps$.pipe(
    snapshotEvery(every, model, {
      conditions: snapshotLabels(data, Math.min(config.samples, 200), config.seed),
      size: SIZE,
      seed: config.seed,
      sampleSteps: 10,
      gate,
    }),
    map((s) => ({ ...s, runId: store.runId })),
    share(),
  );
  return merge(steps$, snaps$.pipe(watchPhases({ seed: config.seed, embed: config.embed }))).pipe(
    record(store),
    finalize(() => model.dispose()),
  );
};
