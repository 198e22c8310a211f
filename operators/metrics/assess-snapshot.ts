import type { Assessment, Snapshot } from '../../streams/events.js';
import { checkPhaseThresholds, classifyPhase, type PhaseThresholds } from './classify-phase.js';
import {
  checkRepresentationThresholds,
  type RepresentationThresholds,
} from './classify-representation.js';
import { kNearest, type Neighbours } from './k-nearest.js';
import { linearR2 } from './linear-r2.js';
import { checkBumpInput } from './bump-input.js';
import { locateBump } from './locate-bump.js';
import { neighbourhoodPreservation } from './neighbourhood-preservation.js';
import { pcaEmbed } from './pca-embed.js';
import { twoNN } from './two-nn.js';
import { umapEmbedOffThread } from './umap-off-thread.js';

export interface AssessOptions {
  /** Seeds UMAP (42). */
  seed?: number;
  /** Bump-location tolerance per axis in pixels (1). */
  tol?: number;
  /** 3-D embedding of the activations: 'umap' (default) or the cheap 'pca'. */
  embed?: 'umap' | 'pca';
  /** Overrides of `defaultPhaseThresholds`. */
  thresholds?: Partial<PhaseThresholds>;
  /** Overrides of `defaultRepresentationThresholds` (representation snapshots). */
  representation?: Partial<RepresentationThresholds>;
  /** Neighbours for the neighbourhood-preservation figure (10). */
  k?: number;
  /** UMAP neighbourhood size (15). */
  nNeighbors?: number;
  /** UMAP epochs (umap-js default). */
  nEpochs?: number;
}

/** `AssessOptions` with every default filled in. */
export type ResolvedAssessOptions = Required<
  Omit<AssessOptions, 'nEpochs' | 'thresholds' | 'representation'>
> & {
  nEpochs: number | undefined;
  thresholds: PhaseThresholds;
  representation: RepresentationThresholds;
};

/**
 * Throws a one-line error naming the first bad option; returns the options with defaults.
 * @example checkAssessOptions({ tol: 0.5 }).embed; // 'umap'
 */
export function checkAssessOptions(opts: AssessOptions = {}): ResolvedAssessOptions {
  const { seed = 42, tol = 1, embed = 'umap', k = 10, nNeighbors = 15, nEpochs } = opts;
  if (!Number.isFinite(seed)) throw new Error(`seed must be a finite number (got ${String(seed)})`);
  if (!(typeof tol === 'number' && tol > 0 && Number.isFinite(tol))) {
    throw new Error(`tol must be a number > 0 in pixels (got ${String(tol)})`);
  }
  if (embed !== 'umap' && embed !== 'pca') {
    throw new Error(`embed must be 'umap' or 'pca' (got ${String(embed)})`);
  }
  if (!Number.isInteger(k) || k < 1) {
    throw new Error(`k must be a positive integer (got ${String(k)})`);
  }
  if (!Number.isInteger(nNeighbors) || nNeighbors < 2) {
    throw new Error(`nNeighbors must be an integer >= 2 (got ${String(nNeighbors)})`);
  }
  if (nEpochs !== undefined && (!Number.isInteger(nEpochs) || nEpochs < 1)) {
    throw new Error(`nEpochs must be a positive integer (got ${String(nEpochs)})`);
  }
  const thresholds = checkPhaseThresholds(opts.thresholds);
  const representation = checkRepresentationThresholds(opts.representation);
  return { seed, tol, embed, k, nNeighbors, nEpochs, thresholds, representation };
}

/** Lets other work on the event loop (a training loop) run between the heavy stages. */
export function breathe(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * The 3-D embedding of the activations that the dashboard draws: UMAP on a worker thread (on
 * the `neighbours` already found) when `umap`, else PCA.
 */
export async function embed3d(
  s: Snapshot,
  o: ResolvedAssessOptions,
  neighbours: Neighbours,
  umap = o.embed === 'umap',
): Promise<Float32Array> {
  if (!umap) return pcaEmbed(s.activations, s.dim, 3);
  return umapEmbedOffThread(s.activations, s.dim, {
    nComponents: 3,
    nNeighbors: o.nNeighbors,
    seed: o.seed,
    nEpochs: o.nEpochs,
    neighbours,
  });
}

/** Throws a one-line error naming the first field of `s` whose size does not fit; returns N. */
function checkSnapshot(s: Snapshot): number {
  if (!Number.isInteger(s.size) || s.size < 1) {
    throw new Error(`snapshot.size must be a positive integer (got ${String(s.size)})`);
  }
  if (!Number.isInteger(s.dim) || s.dim < 1) {
    throw new Error(`snapshot.dim must be a positive integer (got ${String(s.dim)})`);
  }
  if (s.labels.length % 2 !== 0 || s.labels.length === 0) {
    throw new Error(`snapshot.labels must hold N*2 values with N >= 1 (got ${s.labels.length})`);
  }
  const n = s.labels.length / 2;
  const px = s.size * s.size;
  if (s.images.length !== n * px) {
    throw new Error(
      `snapshot.images must hold N*size*size = ${n * px} values (got ${s.images.length})`,
    );
  }
  if (s.activations.length !== n * s.dim) {
    throw new Error(
      `snapshot.activations must hold N*dim = ${n * s.dim} values (got ${s.activations.length})`,
    );
  }
  return n;
}

/**
 * Assesses one snapshot (seed 004): locates the bump in every image (fractions with none, one or
 * many bumps; accuracy within `tol` per axis, over all images and among one-bump images),
 * embeds the activations in 3-D (UMAP or PCA) and regresses the embedding onto x and onto y (R²),
 * estimates the activations' intrinsic dimension (TWO-NN; 0 when undefined) and how well they keep label-space
 * neighbours, then applies `classifyPhase`. `evidence` holds every figure and threshold the rule
 * used. A snapshot that is not what the rule assumes (`checkBumpInput`: labels outside the
 * image, blobs that are not compact Gaussian-like bumps) gets a one-line `warning` and
 * `evidence.inputOk` 0: its phase is withheld. Pure and deterministic given `opts.seed`. UMAP, the bulk of the work, runs on a worker
 * thread (`umapEmbedOffThread`) beside training; the rest runs here, yielding to the event loop
 * between stages, so a training loop keeps stepping.
 *
 * @example const a = await assessSnapshot(snap, { seed: 1 }); a.phase; // 'A' | 'B' | 'C'
 */
export async function assessSnapshot(s: Snapshot, opts: AssessOptions = {}): Promise<Assessment> {
  const o = checkAssessOptions(opts);
  const n = checkSnapshot(s);
  const px = s.size * s.size;
  let none = 0;
  let one = 0;
  let many = 0;
  let hits = 0;
  let hitsOne = 0;
  const labelsX = new Float32Array(n);
  const labelsY = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const x = s.labels[2 * i];
    const y = s.labels[2 * i + 1];
    labelsX[i] = x;
    labelsY[i] = y;
    const b = locateBump(s.images.subarray(i * px, (i + 1) * px), s.size);
    const hit = Math.abs(b.x - x) <= o.tol && Math.abs(b.y - y) <= o.tol;
    if (hit) hits++;
    if (b.count === 0) none++;
    else if (b.count === 1) {
      one++;
      if (hit) hitsOne++;
    } else many++;
  }
  await breathe();
  // One exact neighbour search on the activations serves UMAP, TWO-NN and the preservation.
  const neighbours = kNearest(s.activations, s.dim, Math.max(2, o.k, o.nNeighbors - 1));
  await breathe();
  const embedding = await embed3d(s, o, neighbours);
  await breathe();
  const r2x = linearR2(embedding, 3, labelsX);
  const r2y = linearR2(embedding, 3, labelsY);
  const r2mean = (r2x + r2y) / 2;
  // NaN (fewer than 3 distinct points) would turn into null on the wire: report 0 instead.
  const intrinsicDim = twoNN(s.activations, s.dim, neighbours) || 0;
  const neighbourhood = neighbourhoodPreservation(
    s.labels,
    2,
    s.activations,
    s.dim,
    o.k,
    neighbours,
  );
  const accuracyOneBump = one > 0 ? hitsOne / one : 0;
  const bumps = { none: none / n, one: one / n, many: many / n };
  const evidence: Record<string, number> = {
    n,
    oneBump: bumps.one,
    none: bumps.none,
    many: bumps.many,
    accuracy: hits / n,
    accuracyOneBump,
    r2x,
    r2y,
    r2mean,
    intrinsicDim,
    neighbourhood,
    tol: o.tol,
    ...o.thresholds,
  };
  const phase = classifyPhase(
    { oneBump: bumps.one, accuracyOneBump, r2mean, neighbourhood },
    o.thresholds,
  );
  const input = checkBumpInput(s, o.thresholds.minOneBump);
  evidence.inputOk = input.ok ? 1 : 0;
  evidence.labelsInImage = input.labelsInImage;
  // NaN would turn into null on the wire; -1: not measured (the rule said A on the counts).
  evidence.bumpLike = Number.isFinite(input.bumpLike) ? input.bumpLike : -1;
  return {
    step: s.step,
    accuracy: hits / n,
    bumps,
    r2: { x: r2x, y: r2y, mean: r2mean },
    embedding,
    phase,
    evidence,
    ...(input.warning ? { warning: `phase not judged: ${input.warning}` } : {}),
  };
}
