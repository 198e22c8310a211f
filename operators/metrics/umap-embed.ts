import { UMAP } from 'umap-js';
import { kNearest, type Neighbours } from './k-nearest.js';
import { mulberry32 } from '../../streams/mulberry32.js';
import { rowCount } from './pairwise-distances.js';
import { pcaEmbed } from './pca-embed.js';

export interface UmapEmbedOptions {
  /** Output dimensions (3). */
  nComponents?: number;
  /** Neighbourhood size, the point itself included as in umap-learn (15). */
  nNeighbors?: number;
  /** Minimum distance between embedded points (0.1). */
  minDist?: number;
  /** PRNG seed: same data and seed give identical output (42). */
  seed?: number;
  /** Optimisation epochs (umap-js default: 500 below 10k points). */
  nEpochs?: number;
  /** `kNearest(data, dim, k >= nNeighbors - 1)` already computed, to skip the search. */
  neighbours?: Neighbours;
  /**
   * Starting layout: 'pca' (default) scales the top principal components to ±10, the role the
   * spectral start plays in umap-learn, so an ordered sheet is not folded by a random start;
   * 'random' is umap-js's own uniform start.
   */
  init?: 'pca' | 'random';
}

/**
 * UMAP of the rows of `data` (N×dim) to N*nComponents coordinates, row-major. The exact
 * neighbour graph is computed by brute force and handed to umap-js, the layout starts from PCA
 * (see `init`), and the remaining randomness is a seeded mulberry32, so the result is
 * reproducible. With fewer than nNeighbors + 1 points the neighbourhood shrinks to N - 1;
 * below 4 points UMAP is meaningless and PCA is returned.
 *
 * @example umapEmbed(activations, 256, { seed: 1, nEpochs: 200 }); // Float32Array(N*3)
 */
export function umapEmbed(
  data: Float32Array,
  dim: number,
  opts: UmapEmbedOptions = {},
): Float32Array {
  const run = prepare(data, dim, opts);
  if (run instanceof Float32Array) return run;
  const epochs = run.start();
  while (run.umap.step() < epochs);
  return run.result();
}

/**
 * `umapEmbed` that hands the event loop back every `sliceMs` of optimisation (default 20 ms), so
 * a training loop in the same thread keeps stepping. Same output as `umapEmbed` for the same
 * input and seed.
 *
 * @example const y = await umapEmbedAsync(activations, 256, { seed: 1, sliceMs: 10 });
 */
export async function umapEmbedAsync(
  data: Float32Array,
  dim: number,
  opts: UmapEmbedOptions & { sliceMs?: number } = {},
): Promise<Float32Array> {
  const { sliceMs = 20 } = opts;
  if (!(sliceMs > 0)) throw new Error(`sliceMs must be a number > 0 (got ${String(sliceMs)})`);
  const run = prepare(data, dim, opts);
  if (run instanceof Float32Array) return run;
  const epochs = run.start();
  let epoch = 0;
  while (epoch < epochs) {
    const until = performance.now() + sliceMs;
    while (epoch < epochs && performance.now() < until) epoch = run.umap.step();
    if (epoch < epochs) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return run.result();
}

interface Prepared {
  umap: UMAP;
  /** Builds the graph and the starting layout; returns the number of epochs to run. */
  start(): number;
  result(): Float32Array;
}

/** Validates, builds the exact neighbour graph and a seeded UMAP; PCA output for tiny inputs. */
function prepare(data: Float32Array, dim: number, opts: UmapEmbedOptions): Prepared | Float32Array {
  const n = rowCount(data, dim, 'data');
  const {
    nComponents = 3,
    nNeighbors = 15,
    minDist = 0.1,
    seed = 42,
    nEpochs,
    neighbours,
    init = 'pca',
  } = opts;
  if (init !== 'pca' && init !== 'random') {
    throw new Error(`init must be 'pca' or 'random' (got ${String(init)})`);
  }
  if (!Number.isInteger(nComponents) || nComponents < 1) {
    throw new Error(`nComponents must be a positive integer (got ${String(nComponents)})`);
  }
  if (!Number.isInteger(nNeighbors) || nNeighbors < 2) {
    throw new Error(`nNeighbors must be an integer >= 2 (got ${String(nNeighbors)})`);
  }
  if (!(minDist >= 0)) throw new Error(`minDist must be a number >= 0 (got ${String(minDist)})`);
  if (!Number.isFinite(seed)) throw new Error(`seed must be a finite number (got ${String(seed)})`);
  if (nEpochs !== undefined && (!Number.isInteger(nEpochs) || nEpochs < 1)) {
    throw new Error(`nEpochs must be a positive integer (got ${String(nEpochs)})`);
  }
  if (n < 4) return pcaEmbed(data, dim, nComponents);
  const k = Math.min(nNeighbors, n - 1);
  const nn = neighbours ?? kNearest(data, dim, k - 1);
  if (nn.k < k - 1 || nn.indices.length !== n * nn.k) {
    throw new Error(
      `neighbours must come from kNearest(data, dim, k >= ${k - 1}) on these ${n} rows`,
    );
  }
  const knnIndices: number[][] = [];
  const knnDistances: number[][] = [];
  for (let i = 0; i < n; i++) {
    const idx = [i];
    const dst = [0];
    for (let j = 0; j < k - 1; j++) {
      idx.push(nn.indices[i * nn.k + j]);
      dst.push(nn.distances[i * nn.k + j]);
    }
    knnIndices.push(idx);
    knnDistances.push(dst);
  }
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) rows.push(Array.from(data.subarray(i * dim, (i + 1) * dim)));
  const umap = new UMAP({
    nComponents,
    nNeighbors: k,
    minDist,
    nEpochs,
    random: mulberry32(seed),
  });
  umap.setPrecomputedKNN(knnIndices, knnDistances);
  const result = (): Float32Array => {
    const fitted = umap.getEmbedding();
    const out = new Float32Array(n * nComponents);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < nComponents; c++) out[i * nComponents + c] = fitted[i][c];
    }
    return out;
  };
  const start = (): number => {
    const epochs = umap.initializeFit(rows);
    if (init === 'pca') {
      // umap-js optimises the very row arrays getEmbedding() returns, so overwrite them in place.
      const layout = umap.getEmbedding();
      const pca = pcaEmbed(data, dim, nComponents);
      let big = 0;
      for (const v of pca) big = Math.max(big, Math.abs(v));
      const scale = big > 0 ? 10 / big : 0;
      const jitter = mulberry32(seed ^ 0x5bd1e995);
      for (let i = 0; i < n; i++) {
        for (let c = 0; c < nComponents; c++) {
          // A little noise, as in umap-learn, so duplicate points can separate.
          layout[i][c] = pca[i * nComponents + c] * scale + (jitter() - 0.5) * 1e-3;
        }
      }
    }
    return epochs;
  };
  return { umap, start, result };
}
