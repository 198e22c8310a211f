import type { Dataset, Rect } from './events.js';

export interface GaussianBumpsOptions {
  /** Image side in pixels, an integer >= 4 (default 32). */
  size?: number;
  /** Spacing of bump centres along x (columns), > 0 and <= size. */
  dx: number;
  /** Spacing along y (rows), > 0 and <= size (default dx). */
  dy?: number;
  /** Bump spread in pixels, > 0 (default 1). */
  sigma?: number;
  /** Centres inside this rectangle (inclusive, pixel units) are left out. */
  hole?: Rect;
  /**
   * Distance in pixels of the outermost centres from the image edge (default 0): centres run
   * from `margin` to size - 1 - margin, so a bump is never cut by the border. >= 0 and
   * <= (size - 1) / 2.
   */
  margin?: number;
}

/** Tolerance so that e.g. 0.1 * 310 still counts as <= size - 1 despite float rounding. */
const EPS = 1e-9;

/**
 * Throws a one-line `Error` naming the first bad field of `opts`; returns the options with
 * defaults filled in.
 * @example checkGaussianBumpsOptions({ dx: 0.5 }); // { size: 32, dx: 0.5, dy: 0.5, sigma: 1 }
 */
export function checkGaussianBumpsOptions(
  opts: GaussianBumpsOptions,
): Required<Omit<GaussianBumpsOptions, 'hole'>> & { hole?: Rect } {
  if (opts === null || typeof opts !== 'object') {
    throw new Error(`gaussianBumps options must be an object with dx (got ${String(opts)})`);
  }
  const size = opts.size ?? 32;
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 4) {
    throw new Error(`size must be an integer >= 4 (got ${String(size)})`);
  }
  const spacing = (name: string, v: unknown): number => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > size) {
      throw new Error(`${name} must be a number > 0 and <= ${size} (got ${String(v)})`);
    }
    return v;
  };
  const dx = spacing('dx', opts.dx);
  const dy = spacing('dy', opts.dy ?? dx);
  const sigma = opts.sigma ?? 1;
  if (typeof sigma !== 'number' || !Number.isFinite(sigma) || sigma <= 0) {
    throw new Error(`sigma must be a number > 0 (got ${String(sigma)})`);
  }
  const margin = opts.margin ?? 0;
  if (
    typeof margin !== 'number' ||
    !Number.isFinite(margin) ||
    margin < 0 ||
    margin > (size - 1) / 2
  ) {
    throw new Error(
      `margin must be a number >= 0 and <= ${(size - 1) / 2} (got ${String(margin)})`,
    );
  }
  const hole = opts.hole;
  if (hole !== undefined) {
    for (const k of ['x0', 'y0', 'x1', 'y1'] as const) {
      const v: unknown = hole?.[k];
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new Error(`hole.${k} must be a finite number (got ${String(v)})`);
      }
    }
    if (hole.x1 < hole.x0 || hole.y1 < hole.y0) {
      throw new Error(
        `hole must have x0 <= x1 and y0 <= y1 (got x0=${hole.x0} x1=${hole.x1} y0=${hole.y0} y1=${hole.y1})`,
      );
    }
  }
  return { size, dx, dy, sigma, hole, margin };
}

/**
 * Centres m, m + d, m + 2d, … up to size - 1 - m, computed as m + k*d so errors do not
 * accumulate.
 */
function ticks(d: number, size: number, m: number): number[] {
  const out: number[] = [];
  for (let k = 0; k * d <= size - 1 - 2 * m + EPS; k++) out.push(m + k * d);
  return out;
}

/**
 * Images of one 2-D Gaussian bump tiled over the canvas (seed 004). Centres are
 * x = 0, dx, 2dx, … <= size-1 and likewise for y, in row-major order (y outer, x inner), so
 * `size: 16, dx: 0.5` gives 31×31 = 961 labels (23×23 = 529 with `margin: 2`). Pixel (column c, row r) is
 * 2·exp(-((c-x)² + (r-y)²) / (2σ²)) - 1: background -1, peak +1. Images are rendered on demand.
 *
 * @example
 * const d = gaussianBumps({ size: 16, dx: 0.5 }); // d.count === 961
 * const img = d.image(0); // Float32Array(256), bump at (0, 0)
 */
export function gaussianBumps(opts: GaussianBumpsOptions): Dataset {
  const { size, dx, dy, sigma, hole, margin } = checkGaussianBumpsOptions(opts);
  const xs = ticks(dx, size, margin);
  const ys = ticks(dy, size, margin);
  const inHole = (x: number, y: number): boolean =>
    hole !== undefined && x >= hole.x0 && x <= hole.x1 && y >= hole.y0 && y <= hole.y1;
  const kept: number[] = [];
  for (const y of ys) for (const x of xs) if (!inHole(x, y)) kept.push(x, y);
  const labels = Float32Array.from(kept);
  const count = labels.length / 2;
  const inv = 1 / (2 * sigma * sigma);
  // Separable: exp(-(a²+b²)k) = exp(-a²k)·exp(-b²k), so one row and one column profile suffice.
  const gx = new Float64Array(size);
  const gy = new Float64Array(size);
  return {
    size,
    count,
    labels,
    image(i: number): Float32Array {
      if (!Number.isInteger(i) || i < 0 || i >= count) {
        throw new Error(`image index must be an integer in [0, ${count - 1}] (got ${String(i)})`);
      }
      const x = labels[2 * i];
      const y = labels[2 * i + 1];
      for (let c = 0; c < size; c++) gx[c] = Math.exp(-(c - x) * (c - x) * inv);
      for (let r = 0; r < size; r++) gy[r] = Math.exp(-(r - y) * (r - y) * inv);
      const img = new Float32Array(size * size);
      for (let r = 0; r < size; r++) {
        const row = r * size;
        for (let c = 0; c < size; c++) img[row + c] = 2 * gy[r] * gx[c] - 1;
      }
      return img;
    },
  };
}
