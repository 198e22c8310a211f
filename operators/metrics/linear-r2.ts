import { linearFit } from './linear-fit.js';

/**
 * R² of the ordinary least-squares fit (with intercept) of `y` on the `d` columns of `X`
 * (N rows, row-major), via the normal equations with a tiny ridge so collinear columns do not
 * blow up. Clamped to [0, 1]; 0 when `y` is constant or there are fewer than 2 points.
 *
 * @example linearR2(Float32Array.of(0, 1, 2, 3), 1, Float32Array.of(1, 3, 5, 7)); // 1
 */
export function linearR2(X: Float32Array, d: number, y: Float32Array): number {
  return linearFit(X, d, y).r2;
}
