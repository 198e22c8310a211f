import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AssessmentEvent } from '../../../streams/events.js';
import { RunStore } from '../../../engine/store/run-store.js';

/** A stored run with steps, metrics, one snapshot and its assessment, written by the real store. */
export function fakeRun(): { runsDir: string; runDir: string; runId: string } {
  const runsDir = mkdtempSync(join(tmpdir(), 'pw-export-'));
  const store = RunStore.create({ runsDir, runId: 'r1', backend: 'cpu', config: { steps: 4 } });
  const t0 = Date.parse('2026-12-01T12:00:00Z');
  store.append({ type: 'run-start', runId: 'r1', step: 0, time: t0, meta: store.info });
  for (let step = 1; step <= 4; step++) {
    store.append({
      type: 'step',
      runId: 'r1',
      step,
      time: t0 + step * 1000,
      loss: 1 / step,
      examplesPerSec: 100 + step,
    });
  }
  store.append({
    type: 'metric',
    runId: 'r1',
    step: 2,
    time: t0 + 2500,
    name: 'probe/acc',
    value: 0.75,
    tags: { layer: '4' },
  });
  store.append({
    type: 'metric',
    runId: 'r1',
    step: 4,
    time: t0 + 4100,
    name: 'odd,"name"',
    value: -2,
  });
  // 3 samples of 4x4 images, dim 5 activations.
  const n = 3;
  const size = 4;
  const dim = 5;
  const labels = Float32Array.from([0, 1, 2, 3, 1.5, 2.5]);
  const images = new Float32Array(n * size * size).fill(-1);
  images[0 * 16 + 1 * 4 + 0] = 1; // sample 0: one bump at (0, 1)
  const activations = Float32Array.from({ length: n * dim }, (_, i) => i / 10);
  const file = store.writeSnapshot(4, { labels, images, activations });
  store.append({
    type: 'snapshot',
    runId: 'r1',
    step: 4,
    time: t0 + 4200,
    file,
    count: n,
    size,
    dim,
    sampleMs: 12,
  });
  const assessment: Omit<AssessmentEvent, 'seq'> = {
    type: 'assessment',
    runId: 'r1',
    step: 4,
    time: t0 + 4300,
    accuracy: 0.5,
    bumps: { none: 0.25, one: 0.5, many: 0.25 },
    r2: { x: 0.8, y: 0.6, mean: 0.7 },
    phase: 'B',
    rawPhase: 'C',
    evidence: {},
    embedding: [0, 0, 0, 1, 1, 1, 2, 2, 2],
    labels: Array.from(labels),
    size,
    samples: [
      { label: [0, 1], located: { x: 0, y: 1, count: 1 }, pixels: new Array<number>(16).fill(10) },
      { label: [2, 3], located: { x: 0, y: 0, count: 0 }, pixels: new Array<number>(16).fill(200) },
    ],
  };
  store.append(assessment);
  store.append({
    type: 'images',
    runId: 'r1',
    step: 4,
    time: t0 + 4400,
    name: 'grid',
    size: 2,
    thumbs: [{ pixels: [0, 255, 255, 0] }, { pixels: [1, 2, 3, 4] }, { pixels: [9, 9, 9, 9] }],
  });
  store.close('completed', 4);
  return { runsDir, runDir: join(runsDir, 'r1'), runId: 'r1' };
}
