import type { Snapshot } from '../../streams/events.js';
import { bumpShape } from './locate-bump.js';

/** What `checkBumpInput` found: the figures, and a one-line warning when the rule does not apply. */
export interface BumpInputCheck {
  /** Fraction of the labels inside the image (x and y in [-0.5, size - 0.5]). */
  labelsInImage: number;
  /** Fraction of the images in which `locateBump` finds exactly one blob. */
  oneBump: number;
  /**
   * Fraction of those one-blob images whose blob is a compact Gaussian-like bump: `bumpShape`'s
   * gaussianity in [0.3, 1.6] (a sampled Gaussian gives 0.45–1.5, a flat disk or square about
   * 2) and spread sigma at most size/4. NaN when fewer than `minOneBump` images show one blob:
   * then the rule says A, which needs no bumps to be judged.
   */
  bumpLike: number;
  /** Whether the snapshot is what the bump rule assumes. */
  ok: boolean;
  /** Why not, in one line (absent when ok). */
  warning?: string;
}

/** At least this fraction of the labels must lie inside the image. */
const MIN_LABELS_IN_IMAGE = 0.9;
/** At least this fraction of the one-blob images must hold a Gaussian-like bump. */
const MIN_BUMP_LIKE = 0.5;
const GAUSSIANITY = [0.3, 1.6] as const;

/**
 * Checks that a snapshot is what seed 004's bump rule (`classifyPhase` on `locateBump`'s
 * counts) assumes before it is judged: labels that are pixel positions inside the image, and
 * images whose single blobs are compact Gaussian-like bumps. Anything else — points of another
 * dataset drawn as markers, images of another kind, labels in data units — would be judged all
 * the same (blob counting and centroids work on any image), so the assessment withholds its
 * phase and says why instead. Cheap: one `locateBump` and one pass over each image.
 * Thresholds are loose: every snapshot of the default experiment passes by a wide margin
 * (spec/operators/metrics/bump-input.spec.ts).
 *
 * @example checkBumpInput(snapshot).ok; // false for two-moons points drawn as disks
 */
export function checkBumpInput(s: Snapshot, minOneBump = 0.5): BumpInputCheck {
  const n = s.labels.length / 2;
  const px = s.size * s.size;
  let inside = 0;
  let one = 0;
  let like = 0;
  for (let i = 0; i < n; i++) {
    const x = s.labels[2 * i];
    const y = s.labels[2 * i + 1];
    if (x >= -0.5 && x <= s.size - 0.5 && y >= -0.5 && y <= s.size - 0.5) inside++;
    const shape = bumpShape(s.images.subarray(i * px, (i + 1) * px), s.size);
    if (shape.count !== 1) continue;
    one++;
    if (
      shape.gaussianity >= GAUSSIANITY[0] &&
      shape.gaussianity <= GAUSSIANITY[1] &&
      shape.sigma <= s.size / 4
    ) {
      like++;
    }
  }
  const labelsInImage = n > 0 ? inside / n : 0;
  const oneBump = n > 0 ? one / n : 0;
  const bumpLike = oneBump >= minOneBump && one > 0 ? like / one : NaN;
  const pct = (v: number): string => `${Math.round(v * 100)}%`;
  let warning: string | undefined;
  if (labelsInImage < MIN_LABELS_IN_IMAGE) {
    warning = `only ${pct(labelsInImage)} of the labels lie inside the ${s.size}×${s.size} image (the bump rule needs (x, y) pixel positions of the bump centres)`;
  } else if (bumpLike < MIN_BUMP_LIKE) {
    warning = `only ${pct(bumpLike)} of the one-blob images hold a compact Gaussian-like bump (the bump rule needs most: blobs here are flat, ring- or many-peaked, or wide)`;
  }
  return warning
    ? { labelsInImage, oneBump, bumpLike, ok: false, warning }
    : { labelsInImage, oneBump, bumpLike, ok: true };
}
