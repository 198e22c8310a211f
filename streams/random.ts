import { mulberry32 } from './mulberry32.js';

/** A small seeded PRNG (mulberry32) with Gaussian draws, so runs are reproducible on any backend. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Standard normal. */
  normal(): number;
  /** Fills a new Float32Array with standard normals. */
  normals(n: number): Float32Array;
  /** Uniform integer in [0, n). */
  int(n: number): number;
}

/**
 * Creates a seeded random source.
 * @example const r = createRng(1); r.normal();
 */
export function createRng(seed: number): Rng {
  const next = mulberry32(seed >>> 0 || 0x9e3779b9);
  let spare: number | undefined;
  const normal = (): number => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = next();
    const v = next();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
  return {
    next,
    normal,
    normals(n: number): Float32Array {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = normal();
      return out;
    },
    int(n: number): number {
      return Math.floor(next() * n);
    },
  };
}
