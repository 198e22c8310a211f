/**
 * The fused double-conv block against the same block as separate ops, on the native backend:
 * the default model's six blocks (16×16, widths 16/32/64, batch 64, GroupNorm 8, conditioning
 * bias), forward and backward (the gradients of every input), the two variants alternating
 * in one process so that the machine's load falls on both alike.
 *
 * Usage: npx tsx --conditions=phasewatch-source bench/conv-block.ts [--reps 30]
 */
import * as tf from '@tensorflow/tfjs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { selectBackend } from '../engine/backend/backend.js';
import { convBlock, convBlockComposed } from '../engine/backend/fused/conv-block.js';

const { values } = parseArgs({ options: { reps: { type: 'string', default: '30' } } });
const reps = Math.max(1, Number(values.reps));
await selectBackend('native');

const batch = 64;
/** [side, cin, cmid, cout] of down1, down2, down3, up1, up2, up3. */
const blocks = [
  [8, 16, 32, 32],
  [4, 32, 64, 64],
  [2, 64, 64, 64],
  [4, 128, 32, 32],
  [8, 64, 16, 16],
  [16, 32, 16, 16],
];
const groupsFor = (c: number): number => {
  for (let g = Math.min(c, 8); g > 1; g--) if (c % g === 0) return g;
  return 1;
};
const cases = blocks.map(([s, cin, cmid, cout]) => ({
  inputs: [
    tf.randomNormal([batch, s, s, cin]),
    tf.randomNormal([3, 3, cin, cmid], 0, 0.1),
    tf.ones([cmid]),
    tf.zeros([cmid]),
    tf.randomNormal([3, 3, cmid, cout], 0, 0.1),
    tf.ones([cout]),
    tf.zeros([cout]),
    tf.randomNormal([batch, 1, 1, cout]),
  ],
  groups: { groups1: groupsFor(cmid), groups2: groupsFor(cout) },
}));

/** One forward and backward pass of every block; its wall time in ms. */
function pass(op: typeof convBlock): number {
  const t0 = performance.now();
  for (const c of cases) {
    tf.tidy(() => {
      const f = (...a: tf.Tensor[]): tf.Tensor => {
        const [x, w1, gamma1, beta1, w2, gamma2, beta2, bias] = a;
        const w = { w1: w1 as tf.Tensor4D, gamma1, beta1, w2: w2 as tf.Tensor4D, gamma2, beta2 };
        return op(x as tf.Tensor4D, w, { ...c.groups, bias: bias as tf.Tensor4D });
      };
      const y = f(...c.inputs);
      tf.grads(f)(c.inputs, tf.onesLike(y));
    });
  }
  return performance.now() - t0;
}

const variants = { fused: convBlock, separate: convBlockComposed };
const times: Record<string, number[]> = { fused: [], separate: [] };
for (let i = 0; i < 5; i++) for (const op of Object.values(variants)) pass(op);
for (let i = 0; i < reps; i++) {
  const order = Object.entries(variants);
  if (i % 2) order.reverse();
  for (const [name, op] of order) times[name].push(pass(op));
}
console.log(`six double-conv blocks, forward + backward, batch ${batch}; ${reps} alternating reps`);
for (const [name, t] of Object.entries(times)) {
  t.sort((a, b) => a - b);
  const at = (q: number): string => t[Math.floor(q * (t.length - 1))].toFixed(2);
  console.log(`  ${name.padEnd(9)} min ${at(0)} ms  p25 ${at(0.25)}  median ${at(0.5)} ms`);
}
console.log(`load average ${loadavg()[0].toFixed(2)} on ${cpus().length} cores`);
tf.dispose(cases.flatMap((c) => c.inputs));
