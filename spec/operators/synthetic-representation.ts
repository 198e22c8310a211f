import type { Factor, NoiseLevel, Snapshot } from '../../streams/events.js';
import { mulberry32 } from '../../streams/mulberry32.js';

/** A factor to draw: continuous in [0, 1), or `classes` categories. */
export interface FactorSpec {
  name: string;
  classes?: number;
}

/**
 * 'noise': Gaussian activations unrelated to the factors (phase A). 'scrambled': a manifold of the
 * factors' dimension, but each sample sits at another sample's place (phase B). 'ordered': each
 * sample sits at its own factors' place on that manifold (phase C).
 */
export type RepresentationKind = 'noise' | 'scrambled' | 'ordered';

function gauss(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/**
 * A representation snapshot with known structure: the factors' latent point (a coordinate per
 * continuous factor, a class centre on a circle plus a little jitter per categorical one) goes
 * through a fixed smooth map into `dim` dimensions — a curved sheet — plus tiny noise.
 */
export function syntheticRepresentation(
  kind: RepresentationKind,
  specs: FactorSpec[],
  opts: { n?: number; dim?: number; seed?: number } = {},
): Snapshot {
  const { n = 200, dim = 32, seed = 1 } = opts;
  const rand = mulberry32(seed);
  const factors: Record<string, Factor> = {};
  for (const s of specs) {
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++) values[i] = s.classes ? Math.floor(rand() * s.classes) : rand();
    factors[s.name] = s.classes ? { values, categorical: true } : { values };
  }
  const m = specs.reduce((a, s) => a + (s.classes ? 2 : 1), 0);
  const latent = new Float64Array(n * m);
  const perm = Array.from({ length: n }, (_, i) => i);
  if (kind === 'scrambled') {
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [perm[i], perm[j]] = [perm[j], perm[i]];
    }
  }
  for (let i = 0; i < n; i++) {
    let c = 0;
    for (const s of specs) {
      const v = factors[s.name].values[perm[i]];
      if (s.classes) {
        const a = (2 * Math.PI * v) / s.classes;
        latent[i * m + c++] = Math.cos(a) + 0.08 * gauss(rand);
        latent[i * m + c++] = Math.sin(a) + 0.08 * gauss(rand);
      } else latent[i * m + c++] = 2 * v - 1;
    }
  }
  const W = Float64Array.from({ length: dim * m }, () => gauss(rand));
  const B = Float64Array.from({ length: dim * m }, () => gauss(rand));
  const activations = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    for (let d = 0; d < dim; d++) {
      if (kind === 'noise') {
        activations[i * dim + d] = gauss(rand);
        continue;
      }
      let lin = 0;
      let curve = 0;
      for (let j = 0; j < m; j++) {
        lin += W[d * m + j] * latent[i * m + j];
        curve += B[d * m + j] * latent[i * m + j];
      }
      activations[i * dim + d] = lin + 0.3 * Math.sin(curve) + 0.002 * gauss(rand);
    }
  }
  return {
    runId: 'synthetic',
    step: 0,
    size: 0,
    labels: new Float32Array(0),
    images: new Float32Array(0),
    activations,
    dim,
    factors,
  };
}

/** The timesteps of `noisySnapshot`. */
export const NOISE_TIMESTEPS = [0, 10, 20, 40, 60, 80];

/**
 * 200 samples of 3 classes and a continuous x; at timestep t the activations hold the class
 * centre and x scaled by a signal that peaks at t = 40, plus unit Gaussian noise in 32 dims.
 */
export function noisySnapshot(seed = 1): Snapshot {
  const rand = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const n = 200;
  const dim = 32;
  const cls = Float32Array.from({ length: n }, () => Math.floor(rand() * 3));
  const x = Float32Array.from({ length: n }, () => rand());
  const centres = Array.from({ length: 3 }, () => Array.from({ length: dim }, gauss));
  const wx = Array.from({ length: dim }, gauss);
  const noiseLevels: NoiseLevel[] = NOISE_TIMESTEPS.map((t) => {
    const signal = 1.2 * Math.exp(-(((t - 40) / 20) ** 2));
    const activations = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) {
      for (let d = 0; d < dim; d++) {
        activations[i * dim + d] =
          signal * (centres[cls[i]][d] + 3 * (x[i] - 0.5) * wx[d]) + gauss();
      }
    }
    return { t, activations, dim };
  });
  return {
    runId: 'r',
    step: 1,
    size: 0,
    labels: new Float32Array(0),
    images: new Float32Array(0),
    activations: noiseLevels[3].activations,
    dim,
    factors: { class: { values: cls, categorical: true }, x: { values: x } },
    noiseLevels: [...noiseLevels].reverse(),
  };
}
