/**
 * Soft voting (seed 002, §4.1): the element-wise mean of several probes' logits
 * (each n*classes, row-major), whose argmax is the ensemble's prediction.
 * @example averageLogits([probeA, probeB]);
 */
export function averageLogits(logits: Float32Array[]): Float32Array {
  if (logits.length === 0)
    throw new Error('averageLogits needs at least one set of logits (got 0)');
  const len = logits[0].length;
  for (let i = 1; i < logits.length; i++) {
    if (logits[i].length !== len) {
      throw new Error(`logits[${i}] holds ${logits[i].length} values, logits[0] holds ${len}`);
    }
  }
  const out = new Float32Array(len);
  for (const l of logits) for (let j = 0; j < len; j++) out[j] += l[j];
  for (let j = 0; j < len; j++) out[j] /= logits.length;
  return out;
}

/**
 * Indices of the ensemble members in an ascending timestep grid: the centre, up to `fine`
 * smaller-t neighbours and up to `coarse` larger-t ones (fewer at the ends of the grid).
 * @example ensembleMembers(7, 3, 2, 2); // [1, 2, 3, 4, 5]
 */
export function ensembleMembers(
  gridLength: number,
  centre: number,
  coarse: number,
  fine: number,
): number[] {
  if (!Number.isInteger(centre) || centre < 0 || centre >= gridLength) {
    throw new Error(`centre must be an index in [0, ${gridLength - 1}] (got ${String(centre)})`);
  }
  for (const [name, v] of [
    ['coarse', coarse],
    ['fine', fine],
  ] as const) {
    if (!Number.isInteger(v) || v < 0) {
      throw new Error(`${name} must be a non-negative integer (got ${String(v)})`);
    }
  }
  const out: number[] = [];
  for (let i = Math.max(0, centre - fine); i <= Math.min(gridLength - 1, centre + coarse); i++) {
    out.push(i);
  }
  return out;
}
