/**
 * Where a training step (and optionally a sampling pass) of the DDPM spends its time, kernel by
 * kernel, on the native backend: each registered kernel is wrapped with a timer. What is left
 * of the step outside the kernels is tfjs's own JavaScript (tape, dispatch) and the optimizer.
 *
 * Usage: npm run bench:profile -- [--size 16] [--widths 16,32,64] [--batch 64] [--steps 20]
 *        [--shapes] [--sample 200] [--preset seed]
 *   --preset P  the model of `phasewatch run --preset P` instead (its size and widths)
 *   --shapes    time convolutions per input/filter shape
 *   --sample N  also profile one sampling pass over N images (DDIM, 20 steps)
 */
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { selectBackend } from '../engine/backend/backend.js';
import { Ddpm } from '../engine/models/ddpm.js';
import { PRESET_NAMES, resolveConfig, type ConfigPreset } from '../engine/experiment/config.js';
import { unetFromConfig } from '../engine/experiment/unet-from-config.js';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '16' },
    widths: { type: 'string', default: '16,32,64' },
    batch: { type: 'string', default: '64' },
    steps: { type: 'string', default: '20' },
    shapes: { type: 'boolean', default: false },
    sample: { type: 'string', default: '0' },
    preset: { type: 'string' },
  },
});
const preset = values.preset as ConfigPreset | undefined;
if (preset !== undefined && !PRESET_NAMES.includes(preset)) {
  throw new Error(`--preset takes ${PRESET_NAMES.join(', ')} (got "${preset}")`);
}
const modelConfig = preset ? unetFromConfig(resolveConfig({ preset })).config : undefined;
const size = modelConfig?.size ?? Number(values.size);
const widths =
  modelConfig?.widths ?? (values.widths.split(',').map(Number) as [number, number, number]);
const batch = Number(values.batch);
const steps = Math.max(1, Number(values.steps));

await selectBackend('native');
const times = new Map<string, { ms: number; calls: number }>();

/** A kernel's timing key: its name, and for convolutions with --shapes, the shapes. */
function keyOf(name: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap): string {
  if (!values.shapes || !name.startsWith('Conv')) return name;
  const x = inputs.x ?? inputs.dy ?? { shape: [] };
  const f = inputs.filter?.shape ?? (attrs.filterShape as number[] | undefined) ?? [];
  return `${name} ${x.shape.join('×')} / ${f.join('×')}`;
}

for (const config of tf.getKernelsForBackend('native')) {
  const run = config.kernelFunc;
  tf.unregisterKernel(config.kernelName, 'native');
  tf.registerKernel({
    ...config,
    kernelFunc: (params) => {
      const t0 = performance.now();
      const out = run(params);
      const key = keyOf(config.kernelName, params.inputs, params.attrs ?? {});
      const entry = times.get(key) ?? { ms: 0, calls: 0 };
      entry.ms += performance.now() - t0;
      entry.calls++;
      times.set(key, entry);
      return out;
    },
  });
}

/** Prints the kernels by time, per `per` runs; returns their total. */
function report(per: number, prefix = ''): number {
  let sum = 0;
  for (const [name, { ms, calls }] of [...times].sort((a, b) => b[1].ms - a[1].ms)) {
    sum += ms / per;
    if (ms / per < 0.05) continue;
    const t = (ms / per).toFixed(2).padStart(8);
    console.log(`${prefix}${name.padEnd(44)} ${t} ms ${String(calls / per).padStart(6)} calls`);
  }
  return sum;
}

const model = new Ddpm(modelConfig ?? { size, widths });
const images = Float32Array.from({ length: batch * size * size }, () => Math.random() * 2 - 1);
const labels = Float32Array.from({ length: batch * 2 }, () => Math.random());
for (let i = 0; i < 3; i++) model.trainStep(images, labels, batch);
times.clear();
const stepMs: number[] = [];
for (let i = 0; i < steps; i++) {
  const t0 = performance.now();
  model.trainStep(images, labels, batch);
  stepMs.push(performance.now() - t0);
}
console.log(
  `training step: ${preset ? `--preset ${preset}, ` : ''}size ${size}, widths [${widths.join(',')}], batch ${batch}`,
);
const kernels = report(steps, '  ');
const median = [...stepMs].sort((a, b) => a - b)[Math.floor(steps / 2)];
console.log(
  `median step ${median.toFixed(1)} ms; kernels ${kernels.toFixed(1)} ms a step; the rest (tfjs JS, optimizer) ${(median - kernels).toFixed(1)} ms`,
);

const samples = Number(values.sample);
if (samples > 0) {
  times.clear();
  const conditions = Float32Array.from({ length: samples * 2 }, () => Math.random());
  const t0 = performance.now();
  await model.sample({ labels: conditions, seed: 1 });
  const ms = performance.now() - t0;
  console.log(`\nsampling ${samples} images:`);
  const k = report(1, '  ');
  console.log(`sampling pass ${ms.toFixed(0)} ms; kernels ${k.toFixed(0)} ms`);
}
model.dispose();
