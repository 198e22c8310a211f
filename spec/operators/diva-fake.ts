import type { DivaProbeSampler, FreezableDiva } from '../../operators/frozen-probe.js';

/**
 * A stand-in for a Diva whose "encoder" reads a disk image's true latents by hand (corner
 * pixel = background; centroid of the contrast-normalised image = centre), optionally mixed
 * by `mix` (latentDim × 3); samples copy their guide (plus `noise`), unguided ones are zero.
 */
export function fakeDiva(opts: { size: number; mix?: number[][]; noise?: number } = { size: 16 }) {
  const S = opts.size;
  const px = S * S;
  const mix = opts.mix ?? [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ];
  const d = mix.length;
  const frozen: number[] = [];
  const disposed: number[] = [];
  let step = 0;
  const latents = (img: Float32Array): number[] => {
    const b = img[0];
    let m0 = 0;
    let mx = 0;
    let my = 0;
    for (let p = 0; p < px; p++) {
      const cov = (img[p] - b) / (0.5 - b);
      m0 += cov;
      mx += cov * (p % S);
      my += cov * Math.floor(p / S);
    }
    return [mx / m0, my / m0, b];
  };
  const model: FreezableDiva & { step: number } = {
    get step() {
      return step;
    },
    set step(v: number) {
      step = v;
    },
    freeze(): DivaProbeSampler {
      const at = step;
      frozen.push(at);
      return {
        step: at,
        latentDim: d,
        async encode(images) {
          const n = images.length / px;
          const mu = new Float32Array(n * d);
          for (let i = 0; i < n; i++) {
            const l = latents(images.subarray(i * px, (i + 1) * px));
            for (let j = 0; j < d; j++) mu[i * d + j] = mix[j].reduce((s, w, k) => s + w * l[k], 0);
          }
          return { mu, sigma: new Float32Array(n * d).fill(0.1) };
        },
        async sample(guides, o) {
          // A stronger guidance scale w shrinks the deviation from the guide by 1/w.
          const amp = (opts.noise ?? 0) / (o.guidance ?? 1);
          const images = guides.map((v, i) => v + amp * Math.sin(i));
          return { images, activations: {} };
        },
        async generate(_z, n) {
          return { images: new Float32Array(n * px), mu: new Float32Array(n * d) };
        },
        dispose() {
          disposed.push(at);
        },
      };
    },
  };
  return { model, frozen, disposed };
}
