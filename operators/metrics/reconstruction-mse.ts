/**
 * Mean squared error between each of the `perGuide` samples generated for a guide and that
 * guide. `samples` holds guides·perGuide examples, guide-major (all samples of guide 0 first);
 * `guides` holds the guides; each example has `px` values.
 *
 * @example reconstructionMse(Float32Array.of(1, 3), Float32Array.of(2), 2, 1); // 1
 */
export function reconstructionMse(
  samples: Float32Array,
  guides: Float32Array,
  perGuide: number,
  px: number,
): number {
  if (!Number.isInteger(px) || px < 1) throw new Error(`px must be a positive integer (got ${px})`);
  if (!Number.isInteger(perGuide) || perGuide < 1) {
    throw new Error(`perGuide must be a positive integer (got ${perGuide})`);
  }
  if (guides.length % px !== 0 || guides.length === 0) {
    throw new Error(`guides must hold a positive multiple of ${px} values (got ${guides.length})`);
  }
  const g = guides.length / px;
  if (samples.length !== g * perGuide * px) {
    throw new Error(
      `samples must hold guides*perGuide*px = ${g * perGuide * px} values (got ${samples.length})`,
    );
  }
  let s = 0;
  for (let i = 0; i < g; i++) {
    for (let k = 0; k < perGuide; k++) {
      const base = (i * perGuide + k) * px;
      for (let p = 0; p < px; p++) {
        const e = samples[base + p] - guides[i * px + p];
        s += e * e;
      }
    }
  }
  return s / samples.length;
}

/**
 * Mean squared error of a set of examples to their own mean image: the seed's measure of the
 * dataset's total variance (its "unconditioned" 0.56 on disks).
 *
 * @example meanImageMse(Float32Array.of(0, 2), 1); // 1
 */
export function meanImageMse(examples: Float32Array, px: number): number {
  if (!Number.isInteger(px) || px < 1) throw new Error(`px must be a positive integer (got ${px})`);
  if (examples.length % px !== 0 || examples.length === 0) {
    throw new Error(
      `examples must hold a positive multiple of ${px} values (got ${examples.length})`,
    );
  }
  const n = examples.length / px;
  const mean = new Float64Array(px);
  for (let i = 0; i < n; i++) for (let p = 0; p < px; p++) mean[p] += examples[i * px + p] / n;
  let s = 0;
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < px; p++) {
      const e = examples[i * px + p] - mean[p];
      s += e * e;
    }
  }
  return s / examples.length;
}
