/**
 * Training-step and sampling-pass speed of the DDPM on each tfjs backend, side by side with the
 * same model in PyTorch (bench/reference/unet.py), measured in one run on this machine.
 *
 * Usage: npm run bench:train -- [--backends native,wasm,cpu]
 *        [--models default,wide,phase-b,seed] [--steps 10] [--samples 500] [--no-torch]
 *        [--runs 2] [--full] [--no-watch]
 *
 * Models (batch 64): default = size 16, widths [16,32,64]; wide = size 32, widths [32,64,128]
 * (both `Ddpm`'s plain UNet, as reference/unet.py); phase-b = the default experiment's model
 * (`--preset phase-b`, size 16, widths [16,32,64]; reference/phase_b.py).
 * Training times are the median of a run's timed steps. The sampling pass is DDIM with 20
 * steps over `--samples` images in chunks of 100, as `Ddpm.sample` does by default. Slow
 * backends (over 2 s a step) sample 100 images and scale the time by samples/100 (marked
 * "est.") and run once; over 20 s a step they skip sampling unless --full.
 * Each side is measured `--runs` times — phasewatch: that many batches of timed steps and
 * sampling passes; PyTorch: that many processes — the two sides alternating run by run, and
 * keeps its best run, so one busy spell on a shared machine does not decide the ratio; the
 * fastest single step and the load before and after are printed too.
 * Model seed is `--preset seed` (size 32, widths [16,32,64], self-attention after all six
 * blocks, the full 32×32 one included; batch 64), training only, on the native backend: its
 * steps are interleaved with those of the same model without attention, in one process, so the
 * attention/no-attention ratio sees one machine; PyTorch does the same (reference/unet.py
 * --attention interlaced --plain). It reports min and median of `--steps` × `--runs` steps.
 * With the native backend, the cost of watching (bench/watch-cost.ts: the default experiment,
 * 1,000 steps with a snapshot every 200 against none) follows the table, unless --no-watch.
 * The last line is JSON for the default model:
 * {"model":…, "fast_ms":…, "torch_ms":…, "ratio":…, "sample_fast_ms":…, "sample_torch_ms":…,
 *  "watch_overhead":…, "seed_ms":…, "seed_plain_ms":…, "seed_attention_ratio":…,
 *  "seed_torch_ms":…, "seed_torch_plain_ms":…, "seed_ratio":…,
 *  "ratios": {"<model>": {"train":…, "sample":…}, …} (native / PyTorch, every model), "load":…}
 */
import * as tf from '@tensorflow/tfjs';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { selectBackend } from '../engine/backend/backend.js';
import { Ddpm } from '../engine/models/ddpm.js';
import { resolveConfig } from '../engine/experiment/config.js';
import { unetFromConfig } from '../engine/experiment/unet-from-config.js';
import { loadNativeAddon } from '../engine/backend/native/addon.js';
import { measureWatchCost, watchCostLines } from './watch-cost.js';

interface ModelSpec {
  key: string;
  size: number;
  widths: [number, number, number];
  batch: number;
  /** The model of this `--preset` (its UNet settings), instead of `Ddpm`'s plain UNet. */
  preset?: 'phase-b';
}

const MODELS: Record<string, ModelSpec> = {
  default: { key: 'default', size: 16, widths: [16, 32, 64], batch: 64 },
  wide: { key: 'wide', size: 32, widths: [32, 64, 128], batch: 64 },
  'phase-b': { key: 'phase-b', size: 16, widths: [16, 32, 64], batch: 64, preset: 'phase-b' },
};

const { values } = parseArgs({
  options: {
    backends: { type: 'string', default: 'native,wasm,cpu' },
    models: { type: 'string', default: 'default,wide,seed' },
    steps: { type: 'string', default: '10' },
    samples: { type: 'string', default: '500' },
    'no-torch': { type: 'boolean', default: false },
    runs: { type: 'string', default: '2' },
    'no-watch': { type: 'boolean', default: false },
    full: { type: 'boolean', default: false },
  },
});
const STEPS = Math.max(1, Number(values.steps));
const RUNS = Math.max(1, Number(values.runs));
const SAMPLES = Math.max(1, Number(values.samples));
const SAMPLE_STEPS = 20;
const CHUNK = 100;
const here = path.dirname(fileURLToPath(import.meta.url));

function modelName(m: ModelSpec): string {
  return `size ${m.size} widths [${m.widths.join(',')}] batch ${m.batch}`;
}

/**
 * Multiply-adds ×2 of every convolution in one forward pass over `batch` images; `stemDx`, those
 * of the first convolution, whose input gradient a training step does not need. The phase-b
 * model adds a double-conv stem and a bottleneck block, and its up blocks are as wide as their
 * skip in the middle.
 */
function convFlops(m: ModelSpec, batch: number): { forward: number; stemDx: number } {
  const [w0, w1, w2] = m.widths;
  const s = m.size;
  const pb = m.preset === 'phase-b';
  const conv = (side: number, k: number, ci: number, co: number): number =>
    2 * batch * side * side * k * k * ci * co;
  const dbl = (side: number, ci: number, co: number, mid = co): number =>
    conv(side, 3, ci, mid) + conv(side, 3, mid, co);
  const stem = conv(s, 3, 1, w0);
  const forward =
    stem +
    (pb ? conv(s, 3, w0, w0) + dbl(s / 8, w2, w2) : 0) +
    dbl(s / 2, w0, w1) +
    dbl(s / 4, w1, w2) +
    dbl(s / 8, w2, w2) +
    dbl(s / 4, 2 * w2, w1, pb ? w2 : w1) +
    dbl(s / 2, 2 * w1, w0, pb ? w1 : w0) +
    dbl(s, 2 * w0, w0) +
    conv(s, 1, w0, 1);
  return { forward, stemDx: stem };
}

/** Training step conv FLOPs: forward, filter gradient, input gradient (none for the stem). */
function trainFlops(m: ModelSpec): number {
  const { forward, stemDx } = convFlops(m, m.batch);
  return 3 * forward - stemDx;
}

function sampleFlops(m: ModelSpec): number {
  return convFlops(m, SAMPLES).forward * SAMPLE_STEPS;
}

/**
 * The FP32 peak the % columns measure against: cores × 2 FMA units × lanes (16 with AVX-512,
 * else 8) × 2 FLOP × the clock /proc/cpuinfo reports (2.3 GHz when it reports none). That is
 * the base clock: a core boosting above it can run a kernel at more than 100 %.
 * PHASEWATCH_PEAK_GFLOPS overrides it.
 */
function peakGflops(): { gflops: number; basis: string } {
  const env = Number(process.env.PHASEWATCH_PEAK_GFLOPS);
  if (Number.isFinite(env) && env > 0) return { gflops: env, basis: 'PHASEWATCH_PEAK_GFLOPS' };
  let info = '';
  try {
    info = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    // not Linux: the default clock and lanes below
  }
  const lanes = /^flags\s*:.*\bavx512f\b/m.test(info) ? 16 : 8;
  const mhz = Number(/^cpu MHz\s*:\s*([\d.]+)/m.exec(info)?.[1] ?? 2300);
  const cores = os.cpus().length;
  const gflops = (cores * 2 * lanes * 2 * mhz) / 1000;
  return {
    gflops,
    basis: `${cores} cores × 2 FMA × ${lanes} lanes × 2 × ${(mhz / 1000).toFixed(2)} GHz`,
  };
}

function trainData(m: ModelSpec): { images: Float32Array; labels: Float32Array } {
  const { size, batch } = m;
  const images = new Float32Array(batch * size * size);
  const labels = new Float32Array(batch * 2);
  for (let i = 0; i < batch; i++) {
    const cx = (i * 7) % size;
    const cy = (i * 3) % size;
    labels[2 * i] = cx;
    labels[2 * i + 1] = cy;
    for (let r = 0; r < size; r++) {
      for (let c = 0; c < size; c++) {
        const d2 = (c - cx) ** 2 + (r - cy) ** 2;
        images[i * size * size + r * size + c] = 2 * Math.exp(-d2 / 8) - 1;
      }
    }
  }
  return { images, labels };
}

interface Row {
  model: string;
  backend: string;
  trainMs: number | null;
  sampleMs: number | null;
  sampleNote: string;
  note: string;
  /** Every timed step (ms), for min and median; PyTorch: each process's min and median. */
  steps: number[];
}

/** One backend's model, kept across the interleaved runs; each run adds to `row`. */
interface NativeSide {
  row: Row;
  /** One batch of `--steps` timed steps and one sampling pass (a slow backend: its first only). */
  run(): Promise<void>;
  close(): void;
}

async function openBackend(m: ModelSpec, backend: string): Promise<NativeSide> {
  const row = emptyRow(m, backend);
  const closed: NativeSide = { row, run: async () => undefined, close: () => undefined };
  try {
    row.backend = await selectBackend(backend);
  } catch (err) {
    row.note = `unavailable: ${firstLine(err)}`;
    return closed;
  }
  const model = m.preset
    ? unetFromConfig(
        resolveConfig({ preset: m.preset, size: m.size, widths: m.widths, batchSize: m.batch }),
      ).ddpm
    : new Ddpm({ size: m.size, widths: m.widths });
  const { images, labels } = trainData(m);
  const sampleLabels = new Float32Array(SAMPLES * 2);
  for (let i = 0; i < SAMPLES; i++) {
    sampleLabels[2 * i] = (i * 5) % m.size;
    sampleLabels[2 * i + 1] = (i * 11) % m.size;
  }
  const t0 = performance.now();
  model.trainStep(images, labels, m.batch);
  const first = performance.now() - t0;
  const slow = first > 2000 && !values.full;
  let runs = 0;
  let sampleMs = Infinity;
  return {
    row,
    async run() {
      if (runs > 0 && slow) return;
      runs++;
      await selectBackend(row.backend);
      const times: number[] = [];
      const start = performance.now();
      const limit = first > 5000 ? 1 : STEPS;
      while (times.length < limit && (times.length < 2 || performance.now() - start < 20000)) {
        const s0 = performance.now();
        model.trainStep(images, labels, m.batch);
        times.push(performance.now() - s0);
      }
      row.steps.push(...times);
      row.trainMs = Math.min(row.trainMs ?? Infinity, median(times));
      row.note = `${row.steps.length} timed steps in ${runs} run${runs > 1 ? 's' : ''}`;
      if (row.trainMs > 20000 && !values.full) {
        row.sampleNote = 'skipped (slow; --full runs it)';
        return;
      }
      const count = slow ? Math.min(CHUNK, SAMPLES) : SAMPLES;
      // Warm the sampling path on a few images first (first-call compilation, allocation).
      if (runs === 1)
        await model.sample({ labels: sampleLabels.subarray(0, 8), steps: 2, seed: 1 });
      const s0 = performance.now();
      const opts = { steps: SAMPLE_STEPS, seed: 1, chunk: CHUNK };
      await model.sample({ labels: sampleLabels.subarray(0, 2 * count), ...opts });
      sampleMs = Math.min(sampleMs, performance.now() - s0);
      row.sampleMs = (sampleMs * SAMPLES) / count;
      if (count < SAMPLES) row.sampleNote = `est. from ${count}`;
    },
    close: () => model.dispose(),
  };
}

function emptyRow(m: ModelSpec, backend: string): Row {
  return {
    model: m.key,
    backend,
    trainMs: null,
    sampleMs: null,
    sampleNote: '',
    note: '',
    steps: [],
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function torchAvailable(): boolean {
  const r = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' });
  return r.status === 0;
}

/** The first line of an error's message. */
function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0];
}

/** One process of reference/unet.py with these flags (and this machine's threads): its JSON line. */
function runReference(flags: string[]): Record<string, number | string | undefined> {
  const script = path.join(here, 'reference', 'unet.py');
  const args = [script, ...flags, '--threads', String(os.cpus().length)];
  const out = execFileSync('/usr/bin/python3', args, { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as Record<string, number | string>;
}

/** The same model in PyTorch (reference/unet.py): one process, folded into `row`. */
function runTorch(m: ModelSpec, row: Row): void {
  try {
    const r = runReference([
      ...['--size', String(m.size), '--widths', m.widths.join(','), '--batch', String(m.batch)],
      ...['--steps', String(STEPS), '--sample', String(SAMPLES)],
      ...['--sample-steps', String(SAMPLE_STEPS), '--chunk', String(CHUNK)],
      ...(m.preset === 'phase-b' ? ['--model', 'phase-b', '--cond-hidden', '128'] : []),
    ]) as { train_ms?: number; train_min_ms?: number; sample_ms?: number; torch?: string };
    const better = (a: number | null, b: number | undefined): number | null =>
      b === undefined || b === null ? a : a === null ? b : Math.min(a, b);
    row.trainMs = better(row.trainMs, r.train_ms);
    row.sampleMs = better(row.sampleMs, r.sample_ms);
    if (r.train_min_ms !== undefined) row.steps.push(r.train_min_ms);
    if (r.train_ms !== undefined) row.steps.push(r.train_ms);
    row.note = `torch ${r.torch ?? '?'}, ${os.cpus().length} threads`;
  } catch (err) {
    row.note = `failed: ${firstLine(err)}`;
  }
}

function fmt(ms: number | null): string {
  if (ms === null) return '—';
  return ms >= 10000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(1)} ms`;
}

/** Per-kernel timing of the native convolutions on the issue's shapes (GEMM efficiency). */
async function convKernels(peak: number): Promise<void> {
  try {
    await selectBackend('native');
  } catch {
    return;
  }
  console.log('\nnative conv kernels (3×3, stride 1, same):');
  const shapes: [number, number, number, number][] = [
    [16, 16, 32, 32],
    [64, 32, 32, 32],
    [64, 16, 64, 128],
    [64, 8, 128, 128],
  ];
  for (const [b, h, c, co] of shapes) {
    const x = tf.randomNormal([b, h, h, c]) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, c, co]) as tf.Tensor4D;
    const dy = tf.randomNormal([b, h, h, co]) as tf.Tensor4D;
    const flops = 2 * b * h * h * 9 * c * co;
    const kernels: [string, () => tf.Tensor][] = [
      ['Conv2D', () => tf.conv2d(x, w, 1, 'same')],
      ['BackpropInput', () => tf.conv2dTranspose(dy, w, [b, h, h, c], 1, 'same')],
      [
        'BackpropFilter',
        () =>
          tf
            .engine()
            .runKernel(
              'Conv2DBackpropFilter',
              { x, dy },
              { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, c, co] },
            ) as tf.Tensor,
      ],
    ];
    const parts: string[] = [];
    for (const [name, fn] of kernels) {
      fn().dispose();
      const reps = Math.max(3, Math.min(50, Math.round(2e9 / flops)));
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) fn().dispose();
      const ms = (performance.now() - t0) / reps;
      const gf = flops / ms / 1e6;
      parts.push(
        `${name} ${ms.toFixed(2)} ms ${gf.toFixed(0)} GFLOP/s (${((100 * gf) / peak).toFixed(0)}%)`,
      );
    }
    console.log(`  [${b},${h},${h},${c}]→${co}: ${parts.join(' | ')}`);
    tf.dispose([x, w, dy]);
  }
}

const peak = peakGflops();
const load = os.loadavg()[0];
console.log(
  `phasewatch bench:train — ${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}; ` +
    `% of peak against ${peak.gflops.toFixed(0)} GFLOP/s (${peak.basis})`,
);
console.log(
  `load average ${load.toFixed(2)} on ${os.cpus().length} cores${load > 1 ? ' (machine busy: timings are noisy)' : ''}`,
);
const lib = loadNativeAddon();
if (lib) console.log(`native addon: ${lib.threads()} threads`);

const backends = values.backends.split(',').filter((b) => b.length > 0);
const modelKeys = values.models.split(',').filter((k) => k.length > 0);
const withSeed = modelKeys.includes('seed');
const models = modelKeys
  .filter((k) => k !== 'seed')
  .map((k) => {
    const m = MODELS[k];
    if (!m) {
      throw new Error(`--models takes ${[...Object.keys(MODELS), 'seed'].join(', ')} (got "${k}")`);
    }
    return m;
  });
const withTorch = !values['no-torch'] && torchAvailable();
if (!values['no-torch'] && !withTorch) {
  console.log(
    'PyTorch reference skipped: torch is not importable by /usr/bin/python3 (apt-get install python3-torch)',
  );
}

// Each run: a batch of steps and a sampling pass on each backend, then one PyTorch process;
// the runs alternate, so a busy spell of the machine falls on both sides.
const rows: Row[] = [];
for (const m of models) {
  console.log(
    `\nmodel ${m.key}: ${modelName(m)}; sampling ${SAMPLES} images, DDIM ${SAMPLE_STEPS} steps; ` +
      `${RUNS} alternating runs`,
  );
  const loadBefore = os.loadavg()[0];
  const sides: NativeSide[] = [];
  for (const b of backends) sides.push(await openBackend(m, b));
  const torchRow = emptyRow(m, 'torch');
  try {
    for (let run = 0; run < RUNS; run++) {
      for (const side of sides) await side.run();
      if (withTorch) runTorch(m, torchRow);
    }
  } finally {
    for (const side of sides) side.close();
  }
  for (const row of [...sides.map((s) => s.row), ...(withTorch ? [torchRow] : [])]) {
    rows.push(row);
    const steps = row.steps.length > 0 ? `(min ${fmt(Math.min(...row.steps))})` : '';
    console.log(
      `  ${row.backend.padEnd(8)} train ${fmt(row.trainMs).padStart(9)}/step ${steps.padEnd(16)} sample ${fmt(row.sampleMs).padStart(9)} ${row.sampleNote} ${row.note}`,
    );
  }
  console.log(
    `  (train: the best run's median step; load average ${loadBefore.toFixed(2)} before, ${os.loadavg()[0].toFixed(2)} after)`,
  );
}

console.log(
  '\n| model | backend | train ms/step | conv GFLOP/s | % peak | sampling pass | conv GFLOP/s | vs torch (train / sample) |',
);
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const m = MODELS[r.model];
  const torch = rows.find((t) => t.model === r.model && t.backend === 'torch');
  const gTrain = r.trainMs ? trainFlops(m) / r.trainMs / 1e6 : NaN;
  const gSample = r.sampleMs ? sampleFlops(m) / r.sampleMs / 1e6 : NaN;
  const ratio = (a: number | null, b: number | null | undefined): string =>
    a && b ? `${(a / b).toFixed(2)}×` : '—';
  console.log(
    `| ${r.model} | ${r.backend} | ${fmt(r.trainMs)} | ${gTrain.toFixed(1)} | ${((100 * gTrain) / peak.gflops).toFixed(1)}% | ${fmt(r.sampleMs)}${r.sampleNote ? ` (${r.sampleNote})` : ''} | ${gSample.toFixed(1)} | ${ratio(r.trainMs, torch?.trainMs)} / ${ratio(r.sampleMs, torch?.sampleMs)} |`,
  );
}
console.log(
  `(conv GFLOP/s: convolution FLOPs only, over the whole step or pass; % of ${peak.gflops.toFixed(0)} GFLOP/s, the peak at the base clock: a boosting core can pass 100 %)`,
);

if (backends.includes('native')) await convKernels(peak.gflops);

let watchOverhead: number | null = null;
if (backends.includes('native') && !values['no-watch']) {
  const o = { steps: 1000, every: 200, samples: 200, repeats: 1, backend: 'native' };
  console.log('\nthe cost of watching (the default experiment, seed 1):');
  const r = await measureWatchCost(o);
  for (const line of watchCostLines(o, r)) console.log(`  ${line}`);
  watchOverhead = r.overhead;
}

/** Min and median of a list of step times. */
interface Times {
  min: number;
  median: number;
}

function stats(xs: number[]): Times | null {
  return xs.length > 0 ? { min: Math.min(...xs), median: median(xs) } : null;
}

const SEED: ModelSpec = { key: 'seed', size: 32, widths: [16, 32, 64], batch: 64 };

/**
 * `--preset seed` on the native backend and the same model without attention, their training
 * steps interleaved (full, plain, full, …) after one warm-up step each.
 */
async function timeSeedNative(): Promise<{
  full: Times | null;
  plain: Times | null;
  note: string;
}> {
  try {
    await selectBackend('native');
  } catch (err) {
    const why = firstLine(err);
    return { full: null, plain: null, note: `unavailable: ${why}` };
  }
  const make = (attention: boolean) => unetFromConfig(resolveConfig({ preset: 'seed', attention }));
  const full = make(true);
  const plain = make(false);
  const batch = { ...trainData(SEED), batch: SEED.batch };
  const times: Record<'full' | 'plain', number[]> = { full: [], plain: [] };
  try {
    full.trainStep(batch);
    plain.trainStep(batch);
    for (let i = 0; i < STEPS * RUNS; i++) {
      for (const [key, m] of [
        ['full', full],
        ['plain', plain],
      ] as const) {
        const t0 = performance.now();
        m.trainStep(batch);
        times[key].push(performance.now() - t0);
      }
    }
  } finally {
    full.dispose();
    plain.dispose();
  }
  return {
    full: stats(times.full),
    plain: stats(times.plain),
    note: `${times.full.length} interleaved steps each`,
  };
}

/** The same pair in PyTorch (reference/unet.py --attention interlaced --plain), best of RUNS. */
function timeSeedTorch(): { full: Times | null; plain: Times | null; note: string } {
  const flags = [
    ...['--size', '32', '--widths', SEED.widths.join(','), '--batch', String(SEED.batch)],
    ...['--steps', String(STEPS), '--warmup', '1', '--sample', '0', '--cond-hidden', '0'],
    ...['--attention', 'interlaced', '--plain'],
  ];
  let full: Times | null = null;
  let plain: Times | null = null;
  let note = '';
  const best = (a: Times | null, b: Times): Times =>
    a === null ? b : { min: Math.min(a.min, b.min), median: Math.min(a.median, b.median) };
  for (let i = 0; i < RUNS; i++) {
    try {
      const r = runReference(flags);
      full = best(full, { min: Number(r.train_min_ms), median: Number(r.train_ms) });
      plain = best(plain, { min: Number(r.plain_train_min_ms), median: Number(r.plain_train_ms) });
      note = `torch ${String(r.torch)}, ${os.cpus().length} threads, best of ${i + 1} processes`;
    } catch (err) {
      note = `failed: ${firstLine(err)}`;
    }
  }
  return { full, plain, note };
}

const seed: {
  native: Awaited<ReturnType<typeof timeSeedNative>> | null;
  torch: ReturnType<typeof timeSeedTorch> | null;
} = { native: null, torch: null };
if (withSeed) {
  console.log(
    `\nmodel seed: --preset seed, ${modelName(SEED)}, self-attention after all six blocks ` +
      `(32×32: 1,024 positions); training steps interleaved with the same model without attention`,
  );
  const loadBefore = os.loadavg()[0];
  seed.native = await timeSeedNative();
  if (withTorch) seed.torch = timeSeedTorch();
  const line = (name: string, r: { full: Times | null; plain: Times | null; note: string }) => {
    const f = (t: Times | null) => (t ? `${fmt(t.min)} min, ${fmt(t.median)} median` : '—');
    const ratio =
      r.full && r.plain
        ? `${(r.full.min / r.plain.min).toFixed(2)}× (min) ${(r.full.median / r.plain.median).toFixed(2)}× (median)`
        : '—';
    console.log(
      `  ${name.padEnd(8)} attention ${f(r.full)} | none ${f(r.plain)} | attention/none ${ratio}  ${r.note}`,
    );
  };
  if (seed.native) line('native', seed.native);
  if (seed.torch) line('torch', seed.torch);
  const n = seed.native?.full;
  const t = seed.torch?.full;
  if (n && t) {
    console.log(
      `  native/torch with attention: ${(n.min / t.min).toFixed(2)}× (min) ${(n.median / t.median).toFixed(2)}× (median)`,
    );
  }
  console.log(
    `  load average ${loadBefore.toFixed(2)} before, ${os.loadavg()[0].toFixed(2)} after`,
  );
}

const main = models[0] ?? MODELS.default;
const fast =
  rows.find((r) => r.model === main.key && r.backend === 'native') ??
  rows.find((r) => r.model === main.key && r.backend !== 'torch' && r.trainMs !== null);
const torch = rows.find((r) => r.model === main.key && r.backend === 'torch');
const summary = {
  model: modelName(main),
  backend: fast?.backend ?? null,
  fast_ms: fast?.trainMs ?? null,
  torch_ms: torch?.trainMs ?? null,
  ratio: fast?.trainMs && torch?.trainMs ? fast.trainMs / torch.trainMs : null,
  sample_fast_ms: fast?.sampleMs ?? null,
  sample_torch_ms: torch?.sampleMs ?? null,
  sample_ratio: fast?.sampleMs && torch?.sampleMs ? fast.sampleMs / torch.sampleMs : null,
  watch_overhead: watchOverhead,
  seed_ms: seed.native?.full?.min ?? null,
  seed_plain_ms: seed.native?.plain?.min ?? null,
  seed_attention_ratio:
    seed.native?.full && seed.native.plain ? seed.native.full.min / seed.native.plain.min : null,
  seed_torch_ms: seed.torch?.full?.min ?? null,
  seed_torch_plain_ms: seed.torch?.plain?.min ?? null,
  seed_ratio:
    seed.native?.full && seed.torch?.full ? seed.native.full.min / seed.torch.full.min : null,
  ratios: Object.fromEntries(
    models.map((m) => {
      const r = rows.find((x) => x.model === m.key && x.backend === 'native');
      const t = rows.find((x) => x.model === m.key && x.backend === 'torch');
      const q = (a?: number | null, b?: number | null) => (a && b ? a / b : null);
      return [m.key, { train: q(r?.trainMs, t?.trainMs), sample: q(r?.sampleMs, t?.sampleMs) }];
    }),
  ),
  load: os.loadavg()[0],
};
console.log(JSON.stringify(summary));
