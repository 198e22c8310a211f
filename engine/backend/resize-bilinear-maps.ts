/** Source rows (or columns) of a bilinear resize along one axis, and the weight of the upper. */
export interface BilinearMap {
  lo: Int32Array;
  hi: Int32Array;
  frac: Float32Array;
}

/**
 * For each index of a bilinear resize from `oldSize` to `newSize` without half-pixel centres,
 * its two source indices and the weight of the second, by tfjs's rule: source position
 * r·(old−1)/(new−1) with `alignCorners` (PyTorch's align_corners=True), r·old/new without.
 * @example bilinearMap(2, 4, true); // lo [0,0,0,1], hi [0,1,1,1], frac [0,1/3,2/3,0]
 */
export function bilinearMap(oldSize: number, newSize: number, alignCorners: boolean): BilinearMap {
  const inEff = alignCorners && newSize > 1 ? oldSize - 1 : oldSize;
  const outEff = alignCorners && newSize > 1 ? newSize - 1 : newSize;
  const scale = inEff / outEff;
  const lo = new Int32Array(newSize);
  const hi = new Int32Array(newSize);
  const frac = new Float32Array(newSize);
  for (let r = 0; r < newSize; r++) {
    const src = r * scale;
    lo[r] = Math.min(oldSize - 1, Math.floor(src));
    hi[r] = Math.min(oldSize - 1, Math.ceil(src));
    frac[r] = src - Math.floor(src);
  }
  return { lo, hi, frac };
}

/** What the addon's resizeBilinear and resizeBilinearGrad take after their two buffers. */
export type BilinearArgs = [
  geom: Int32Array,
  ylo: Int32Array,
  yhi: Int32Array,
  yfrac: Float32Array,
  xlo: Int32Array,
  xhi: Int32Array,
  xfrac: Float32Array,
];

/**
 * The geometry of a bilinear resize of NHWC images [n, h, w, c] to nh×nw, as the addon takes
 * it: `[n, h, w, c, nh, nw]`, then the row and the column maps (see `bilinearMap`).
 * @example addon.resizeBilinear(x, y, ...bilinearArgs([1, 2, 2, 1], 4, 4, false));
 */
export function bilinearArgs(
  [n, h, w, c]: readonly number[],
  nh: number,
  nw: number,
  alignCorners: boolean,
): BilinearArgs {
  const ys = bilinearMap(h, nh, alignCorners);
  const xs = bilinearMap(w, nw, alignCorners);
  return [Int32Array.from([n, h, w, c, nh, nw]), ys.lo, ys.hi, ys.frac, xs.lo, xs.hi, xs.frac];
}
