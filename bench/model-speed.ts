/**
 * Model speed: ms per training step and ms per sampling pass, per backend and model size.
 * Usage: npx tsx bench/model-speed.ts [--backends wasm,cpu] [--steps 5] [--samples 200] [--all]
 * The reference row is the default model (size 16, widths [16,32,64], batch 64) on the same
 * backend, measured in the same run; other rows print their time relative to it. The cpu
 * backend is 20-30× slower than wasm, so there only the first and last candidates run unless
 * --all is given.
 */
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { selectBackend } from '../engine/backend.js';
import { Ddpm } from '../engine/ddpm.js';

interface Candidate {
  name: string;
  widths: [number, number, number];
  batch: number;
  attention?: boolean;
}

const CANDIDATES: Candidate[] = [
  { name: 'default [16,32,64] b64', widths: [16, 32, 64], batch: 64 },
  { name: 'default [16,32,64] b32', widths: [16, 32, 64], batch: 32 },
  { name: 'small   [8,16,32]  b64', widths: [8, 16, 32], batch: 64 },
  { name: 'small   [8,16,32]  b32', widths: [8, 16, 32], batch: 32 },
];

const { values } = parseArgs({
  options: {
    backends: { type: 'string', default: 'wasm,cpu' },
    steps: { type: 'string', default: '5' },
    samples: { type: 'string', default: '200' },
    size: { type: 'string', default: '16' },
    all: { type: 'boolean', default: false },
  },
});
const steps = Number(values.steps);
const samples = Number(values.samples);
const size = Number(values.size);

function batchOf(n: number): { images: Float32Array; labels: Float32Array } {
  const images = new Float32Array(n * size * size);
  const labels = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    const cx = (i * 7) % size;
    const cy = (i * 3) % size;
    labels[2 * i] = cx;
    labels[2 * i + 1] = cy;
    for (let r = 0; r < size; r++) {
      for (let c = 0; c < size; c++) {
        const d2 = (c - cx) ** 2 + (r - cy) ** 2;
        images[i * size * size + r * size + c] = 2 * Math.exp(-d2 / 2) - 1;
      }
    }
  }
  return { images, labels };
}

for (const backend of values.backends.split(',')) {
  const name = await selectBackend(backend);
  console.log(`\nbackend ${name} (size ${size}, ${steps} timed steps, ${samples} samples DDIM 20)`);
  const slow = name === 'cpu' && !values.all;
  const cands = slow ? [CANDIDATES[0], CANDIDATES[CANDIDATES.length - 1]] : CANDIDATES;
  let ref: { stepMs: number; sampleMs: number } | undefined;
  for (const cand of cands) {
    const model = new Ddpm({ size, widths: cand.widths, attention: cand.attention ?? false });
    const { images, labels } = batchOf(cand.batch);
    model.trainStep(images, labels, cand.batch); // warm-up: kernels, Adam slots
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) model.trainStep(images, labels, cand.batch);
    const stepMs = (performance.now() - t0) / steps;
    const sampleLabels = batchOf(samples).labels;
    const t1 = performance.now();
    await model.sample({ labels: sampleLabels, steps: 20, seed: 1 });
    const sampleMs = performance.now() - t1;
    ref ??= { stepMs, sampleMs };
    const per1k = (stepMs * 1000) / 60000;
    console.log(
      `  ${cand.name}  params ${String(model.paramCount).padStart(6)}  ` +
        `${stepMs.toFixed(0).padStart(5)} ms/step (×${(stepMs / ref.stepMs).toFixed(2)})  ` +
        `${sampleMs.toFixed(0).padStart(6)} ms/sample-pass (×${(sampleMs / ref.sampleMs).toFixed(2)})  ` +
        `${per1k.toFixed(1)} min/1000 steps`,
    );
    model.dispose();
  }
  console.log(`  tensors alive: ${tf.memory().numTensors}`);
}
