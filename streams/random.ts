import { mulberry32Output } from './mulberry32.js';

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

/** Where an `Rng` stands: mulberry32's counter and the Gaussian pair's unused half. */
export interface RngState {
  counter: number;
  spare: number | null;
}

/** An `Rng` whose place can be read and set again, so a resumed run draws what it would have. */
export interface StatefulRng extends Rng {
  state(): RngState;
  restore(s: RngState): void;
}

/**
 * Creates a seeded random source.
 * @example const r = createRng(1); r.normal();
 */
export function createRng(seed: number): StatefulRng {
  // mulberry32, its counter kept here so that it can be saved and restored.
  let counter = (seed >>> 0 || 0x9e3779b9) >>> 0;
  const next = (): number => {
    counter = (counter + 0x6d2b79f5) >>> 0;
    return mulberry32Output(counter);
  };
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
    state: () => ({ counter, spare: spare ?? null }),
    restore(s: RngState): void {
      if (!Number.isInteger(s.counter) || s.counter < 0 || s.counter > 0xffffffff) {
        throw new Error(`rng state counter must be a uint32 (got ${String(s.counter)})`);
      }
      counter = s.counter;
      spare = s.spare ?? undefined;
    },
  };
}
