import type { Snapshot } from '../../streams/events.js';
import { mulberry32 } from '../../streams/mulberry32.js';

const SIZE = 16;

/**
 * Two-moons points (the 2-D toy set) as a user might push them through the bump API: each
 * point scaled into the 16×16 canvas and drawn as a scatter-plot marker (a filled disk of
 * radius `radius` px, or a Gaussian of σ `radius` when `gaussian`), labelled with its own
 * position (or its raw data coordinates), activations a smooth map of the position — so the
 * blob counts, accuracy, R² and neighbourhood all read as a learned bump map (phase C).
 */
export function twoMoons(
  opts: { n?: number; radius?: number; gaussian?: boolean; dataUnits?: boolean } = {},
): Snapshot {
  const { n = 200, radius = 2, gaussian = false, dataUnits = false } = opts;
  const rand = mulberry32(11);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const dim = 32;
  const freq = Array.from({ length: dim }, () => [0.15 * normal(), 0.15 * normal(), 6.28 * rand()]);
  const labels = new Float32Array(2 * n);
  const images = new Float32Array(n * SIZE * SIZE).fill(-1);
  const activations = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const t = Math.PI * rand();
    const [mx, my] =
      i % 2 === 0 ? [Math.cos(t), Math.sin(t)] : [1 - Math.cos(t), 0.5 - Math.sin(t)];
    const dx = mx + 0.05 * normal();
    const dy = my + 0.05 * normal();
    // [-1, 2] × [-0.5, 1] onto pixels 2.5 … 13.5
    const x = 2.5 + ((dx + 1) / 3) * 11;
    const y = 2.5 + ((1 - dy) / 1.5) * 11;
    labels[2 * i] = dataUnits ? dx : x;
    labels[2 * i + 1] = dataUnits ? dy : y;
    const img = images.subarray(i * SIZE * SIZE, (i + 1) * SIZE * SIZE);
    for (let r = 0; r < SIZE; r++) {
      for (let c = 0; c < SIZE; c++) {
        const d2 = (c - x) ** 2 + (r - y) ** 2;
        img[r * SIZE + c] = gaussian
          ? 2 * Math.exp(-d2 / (2 * radius * radius)) - 1
          : d2 <= radius * radius
            ? 1
            : -1;
      }
    }
    for (let d = 0; d < dim; d++) {
      activations[i * dim + d] = Math.sin(freq[d][0] * x + freq[d][1] * y + freq[d][2]);
    }
  }
  return { runId: 'moons', step: 100, labels, images, activations, size: SIZE, dim };
}
