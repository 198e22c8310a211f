import { mulberry32 } from '../../streams/mulberry32.js';
import type { Snapshot } from '../../streams/events.js';

/**
 * Synthetic snapshots of known phase (16×16 images, σ = 1, 64-D activations, light noise):
 * - `ordered`: C. Activations a smooth nonlinear map of (x, y); bumps where the labels say.
 * - `shuffled`: B. Locally 2-D activations of permuted labels; one bump each, in the wrong place.
 * - `noise`: A. Unstructured activations; images empty or with two bumps.
 * - `encoding-none` / `encoding-wrong`: activations a linear map of sinusoidal (x, y) encodings,
 *   as injected conditioning gives from step 0 (high R²), with images empty/two-bump or with one
 *   bump in the wrong place.
 */
export type SyntheticKind = 'ordered' | 'shuffled' | 'noise' | 'encoding-none' | 'encoding-wrong';

export function syntheticSnapshot(kind: SyntheticKind, n = 200, seed = 1): Snapshot {
  const rand = mulberry32(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const size = 16;
  const dim = 64;
  const labels = new Float32Array(n * 2);
  for (let i = 0; i < 2 * n; i++) labels[i] = Math.round(rand() * 30) / 2;
  const perm = Array.from({ length: n }, (_, i) => i);
  if (kind === 'shuffled') {
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [perm[i], perm[j]] = [perm[j], perm[i]];
    }
  }
  const freq = Array.from({ length: dim }, () => [0.15 * normal(), 0.15 * normal(), 6.28 * rand()]);
  const W = Array.from({ length: dim * 8 }, () => normal());
  const activations = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const x = labels[2 * perm[i]];
    const y = labels[2 * perm[i] + 1];
    const enc = [x / 16, x / 4, y / 16, y / 4].flatMap((a) => [Math.sin(a), Math.cos(a)]);
    for (let d = 0; d < dim; d++) {
      let v: number;
      if (kind === 'ordered' || kind === 'shuffled') {
        v = Math.sin(freq[d][0] * x + freq[d][1] * y + freq[d][2]);
      } else if (kind === 'noise') {
        v = normal();
      } else {
        v = 0;
        for (let e = 0; e < 8; e++) v += W[d * 8 + e] * enc[e];
      }
      activations[i * dim + d] = v + 0.01 * normal();
    }
  }
  const px = size * size;
  const images = new Float32Array(n * px).fill(-1);
  const render = (img: Float32Array, x: number, y: number) => {
    for (let r = 0; r < size; r++) {
      for (let c = 0; c < size; c++) {
        const v = 2 * Math.exp(-((c - x) ** 2 + (r - y) ** 2) / 2) - 1;
        img[r * size + c] = Math.max(img[r * size + c], v);
      }
    }
  };
  for (let i = 0; i < n; i++) {
    const img = images.subarray(i * px, (i + 1) * px);
    const x = labels[2 * i];
    const y = labels[2 * i + 1];
    if (kind === 'ordered') render(img, x, y);
    else if (kind === 'shuffled' || kind === 'encoding-wrong') {
      render(img, (x + 5 + rand() * 5) % 15, (y + 5 + rand() * 5) % 15);
    } else if (i % 2 === 1) {
      render(img, 3, 3);
      render(img, 12, 11);
    }
    for (let p = 0; p < px; p++) img[p] = Math.max(-1, Math.min(1, img[p] + 0.05 * normal()));
  }
  return { runId: 'synthetic', step: 100, size, labels, images, activations, dim };
}
