import type {
  Activation,
  Dataset,
  FeatureOptions,
  Sampler,
  Snapshot,
} from '../../streams/events.js';
import { mulberry32 } from '../../streams/mulberry32.js';

/**
 * A probe set of `count` examples of width 2: [class, noise]. Classes cycle 0..K-1.
 */
export function fakeProbeSet(count: number, K = 3, seed = 1): Dataset {
  const rand = mulberry32(seed);
  const classes = new Float32Array(count);
  const rows: Float32Array[] = [];
  for (let i = 0; i < count; i++) {
    classes[i] = i % K;
    rows.push(new Float32Array([i % K, rand()]));
  }
  return {
    size: 2,
    count,
    labels: classes,
    shape: [2],
    labelDim: 1,
    fields: { class: classes },
    image: (i) => rows[i],
  };
}

/**
 * A sampler whose `layer2` features at timestep t are a one-hot of the example's class scaled
 * by `signal(t)` plus unit Gaussian noise (dim K + 2): probe accuracy follows `signal`.
 * Counts its features() calls, freezes and disposals.
 */
export class FakeProbeModel implements Sampler {
  readonly step = 0;
  calls = 0;
  freezes = 0;
  disposed = 0;
  readonly schedule = { T: 100 };
  constructor(
    readonly signal: (t: number) => number,
    readonly K = 3,
  ) {}

  sample(): Promise<never> {
    return Promise.reject(new Error('not used'));
  }

  features(
    examples: Float32Array,
    t: number,
    opts: FeatureOptions,
  ): Promise<Record<string, Activation>> {
    this.calls++;
    const n = examples.length / 2;
    const dim = this.K + 2;
    const rand = mulberry32(opts.noisy === false ? 7 : opts.seed);
    const data = new Float32Array(n * dim);
    const s = this.signal(t);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < dim; j++) {
        data[i * dim + j] = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
      }
      data[i * dim + examples[2 * i]] += s;
    }
    return Promise.resolve({ layer2: { data, dim } });
  }

  freeze(): Sampler {
    this.freezes++;
    return {
      step: 0,
      sample: () => this.sample(),
      features: (e, t, o) => this.features(e, t, o),
      dispose: () => {
        this.disposed++;
      },
    };
  }

  dispose(): void {}
}

export function emptySnapshot(step: number): Snapshot {
  return {
    runId: 'r',
    step,
    size: 2,
    labels: new Float32Array(0),
    images: new Float32Array(0),
    activations: new Float32Array(0),
    dim: 1,
  };
}
