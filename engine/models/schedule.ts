/** Noise schedules for DDPM: betas and the cumulative products ᾱ_t. */

export type ScheduleKind = 'cosine' | 'linear';

export interface Schedule {
  kind: ScheduleKind;
  /** Number of diffusion steps; timesteps are indexed 0..T-1. */
  T: number;
  betas: Float64Array;
  alphas: Float64Array;
  /** ᾱ_t = Π_{s<=t} (1 - β_s). */
  alphaBars: Float64Array;
}

export interface ScheduleOptions {
  kind?: ScheduleKind;
  T?: number;
  /** Cosine offset s (Nichol & Dhariwal use 0.008). */
  s?: number;
  /** Linear schedule endpoints for T = 1000; scaled by 1000/T as in Nichol & Dhariwal. */
  betaStart?: number;
  betaEnd?: number;
}

/**
 * Builds a beta schedule and its ᾱ table.
 * @example makeSchedule({ kind: 'cosine', T: 100 }).alphaBars[99] // ≈ 0
 */
export function makeSchedule(opts: ScheduleOptions = {}): Schedule {
  const kind = opts.kind ?? 'cosine';
  const T = opts.T ?? 100;
  if (!Number.isInteger(T) || T < 2 || T > 10000) {
    throw new Error(`schedule T must be an integer in [2, 10000] (got ${T})`);
  }
  if (kind !== 'cosine' && kind !== 'linear') {
    throw new Error(`schedule kind must be one of cosine, linear (got "${String(kind)}")`);
  }
  const betas = new Float64Array(T);
  if (kind === 'cosine') {
    const s = opts.s ?? 0.008;
    const f = (t: number): number => Math.cos(((t / T + s) / (1 + s)) * (Math.PI / 2)) ** 2;
    for (let i = 0; i < T; i++) betas[i] = Math.min(1 - f(i + 1) / f(i), 0.999);
  } else {
    const scale = 1000 / T;
    const b0 = (opts.betaStart ?? 1e-4) * scale;
    const b1 = Math.min((opts.betaEnd ?? 0.02) * scale, 0.999);
    for (let i = 0; i < T; i++) betas[i] = b0 + ((b1 - b0) * i) / (T - 1);
  }
  const alphas = new Float64Array(T);
  const alphaBars = new Float64Array(T);
  let prod = 1;
  for (let i = 0; i < T; i++) {
    alphas[i] = 1 - betas[i];
    prod *= alphas[i];
    alphaBars[i] = prod;
  }
  return { kind, T, betas, alphas, alphaBars };
}
