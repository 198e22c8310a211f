/**
 * A tiny seeded PRNG (mulberry32): uniform numbers in [0, 1), the same sequence for the same
 * seed on every platform. Used wherever a library wants `Math.random`, and under the engine's Gaussian draws.
 *
 * @example const r = mulberry32(42); r(); // 0.6011…
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    return mulberry32Output(a);
  };
}

/** The number mulberry32 draws once its counter has reached `a` (for generators that save their counter). */
export function mulberry32Output(a: number): number {
  let t = a;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
