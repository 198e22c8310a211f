import type { Dataset } from './events.js';
import { mulberry32 } from './mulberry32.js';

export interface DisksOptions {
  /** Image side in pixels, an integer in [8, 256] (default 16). */
  size?: number;
  /** Number of examples, an integer in [1, 1e6] (default 2000, the seed's training set). */
  count?: number;
  /** Seeds the draws of the three latents (default 0). */
  seed?: number;
  /** Disk radius in pixels, > 0 and < size/2 (default size/5). */
  radius?: number;
  /** Intensity of the disk, in [-1, 1] (default 0.5, as in the seed). */
  foreground?: number;
  /** Supersamples per pixel side for the anti-aliased edge, an integer in [1, 16] (default 4). */
  supersample?: number;
}

/** Field names of the disks' ground-truth latents, in `labels` order. */
export const DISKS_FIELDS = ['cx', 'cy', 'background'] as const;

export interface DisksDataset extends Dataset {
  radius: number;
  foreground: number;
  fields: { cx: Float32Array; cy: Float32Array; background: Float32Array };
  /** Renders a disk at any (cx, cy, background): for trajectories and probes off the dataset. */
  render(cx: number, cy: number, background: number): Float32Array;
}

/**
 * Checks `disks` options and fills defaults; throws a one-line error naming the bad field.
 * @example checkDisksOptions({ size: 16 }).radius // 3.2
 */
export function checkDisksOptions(opts: DisksOptions = {}): Required<DisksOptions> {
  if (opts === null || typeof opts !== 'object') {
    throw new Error(`disks options must be an object (got ${String(opts)})`);
  }
  const size = opts.size ?? 16;
  if (!Number.isInteger(size) || size < 8 || size > 256) {
    throw new Error(`disks size must be an integer in [8, 256] (got ${String(size)})`);
  }
  const count = opts.count ?? 2000;
  if (!Number.isInteger(count) || count < 1 || count > 1e6) {
    throw new Error(`disks count must be an integer in [1, 1000000] (got ${String(count)})`);
  }
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(seed))
    throw new Error(`disks seed must be an integer (got ${String(seed)})`);
  const radius = opts.radius ?? size / 5;
  if (typeof radius !== 'number' || !(radius > 0) || radius >= size / 2) {
    throw new Error(`disks radius must be a number in (0, ${size / 2}) (got ${String(radius)})`);
  }
  const foreground = opts.foreground ?? 0.5;
  if (typeof foreground !== 'number' || !(foreground >= -1 && foreground <= 1)) {
    throw new Error(`disks foreground must be a number in [-1, 1] (got ${String(foreground)})`);
  }
  const supersample = opts.supersample ?? 4;
  if (!Number.isInteger(supersample) || supersample < 1 || supersample > 16) {
    throw new Error(`disks supersample must be an integer in [1, 16] (got ${String(supersample)})`);
  }
  return { size, count, seed, radius, foreground, supersample };
}

/**
 * Images of one disk of fixed radius and intensity on a uniform background (seed 001, Fig. 2):
 * three independent latents drawn uniformly — the centre cx (column) and cy (row) in
 * [radius, size-1-radius], so the disk stays inside, and the background intensity in [-1, 1].
 * The disk is 0.5 as in the seed, so at background 0.5 it vanishes (the seed's singular point).
 * Pixel (c, r) is background + (foreground - background)·coverage, where coverage is the
 * fraction of its supersample grid inside the disk. `labels` holds (cx, cy, background) per
 * example (`labelDim` 3); `fields` names them for probes.
 *
 * @example
 * const d = disks({ size: 16, count: 2000, seed: 1 });
 * d.image(0); // Float32Array(256) in [-1, 1]
 * d.fields.cx[0]; // the first disk's centre column
 */
export function disks(opts: DisksOptions = {}): DisksDataset {
  const { size, count, seed, radius, foreground, supersample } = checkDisksOptions(opts);
  const rand = mulberry32(seed ^ 0xd15c5);
  const lo = radius;
  const span = size - 1 - 2 * radius;
  const cx = new Float32Array(count);
  const cy = new Float32Array(count);
  const background = new Float32Array(count);
  const labels = new Float32Array(count * 3);
  for (let i = 0; i < count; i++) {
    cx[i] = lo + span * rand();
    cy[i] = lo + span * rand();
    background[i] = 2 * rand() - 1;
    labels.set([cx[i], cy[i], background[i]], 3 * i);
  }
  // Sub-pixel offsets in (-0.5, 0.5), centred in their cells.
  const offsets = Float64Array.from(
    { length: supersample },
    (_, k) => (k + 0.5) / supersample - 0.5,
  );
  const r2 = radius * radius;
  const perPixel = supersample * supersample;
  const render = (x: number, y: number, b: number): Float32Array => {
    const img = new Float32Array(size * size);
    for (let r = 0; r < size; r++) {
      for (let c = 0; c < size; c++) {
        let inside = 0;
        // Pixels wholly outside the disk's bounding box need no supersampling.
        if (Math.abs(c - x) <= radius + 1 && Math.abs(r - y) <= radius + 1) {
          for (const oy of offsets) {
            const dy = r + oy - y;
            for (const ox of offsets) {
              const dx = c + ox - x;
              if (dx * dx + dy * dy <= r2) inside++;
            }
          }
        }
        img[r * size + c] = b + (foreground - b) * (inside / perPixel);
      }
    }
    return img;
  };
  return {
    size,
    count,
    labels,
    labelDim: 3,
    fields: { cx, cy, background },
    radius,
    foreground,
    render,
    image(i: number): Float32Array {
      if (!Number.isInteger(i) || i < 0 || i >= count) {
        throw new Error(`image index must be an integer in [0, ${count - 1}] (got ${String(i)})`);
      }
      return render(cx[i], cy[i], background[i]);
    },
  };
}

export interface DiskTrajectoryOptions {
  /** Number of trajectories (default 8). */
  count?: number;
  /** Frames per trajectory, at least 3 (default 8). */
  frames?: number;
  seed?: number;
}

/**
 * Short "videos" for straightness probes: in each, a disk moves at constant speed along a
 * straight line between two random points of the allowed centre range, on a fixed
 * background whose contrast with the disk is at least 0.4. Each is frames*size*size values.
 * @example diskTrajectories(disks({ size: 16 }), { count: 4, frames: 10 })[0].length // 2560
 */
export function diskTrajectories(
  d: DisksDataset,
  opts: DiskTrajectoryOptions = {},
): Float32Array[] {
  const count = opts.count ?? 8;
  const frames = opts.frames ?? 8;
  if (!Number.isInteger(count) || count < 1 || count > 10000) {
    throw new Error(`trajectories count must be an integer in [1, 10000] (got ${String(count)})`);
  }
  if (!Number.isInteger(frames) || frames < 3 || frames > 1000) {
    throw new Error(`trajectories frames must be an integer in [3, 1000] (got ${String(frames)})`);
  }
  const rand = mulberry32((opts.seed ?? 0) ^ 0x7a1ec);
  const lo = d.radius;
  const span = d.size - 1 - 2 * d.radius;
  const px = d.size * d.size;
  const out: Float32Array[] = [];
  for (let k = 0; k < count; k++) {
    const [x0, y0, x1, y1] = [
      lo + span * rand(),
      lo + span * rand(),
      lo + span * rand(),
      lo + span * rand(),
    ];
    // Background in [-1, 1] at least 0.4 away from the disk's intensity.
    let b = 2 * rand() - 1;
    while (Math.abs(b - d.foreground) < 0.4) b = 2 * rand() - 1;
    const video = new Float32Array(frames * px);
    for (let f = 0; f < frames; f++) {
      const a = f / (frames - 1);
      video.set(d.render(x0 + a * (x1 - x0), y0 + a * (y1 - y0), b), f * px);
    }
    out.push(video);
  }
  return out;
}
