import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import hole, { centredHole, holeAccuracy, holeConditions } from '../../examples/hole.js';
import { readRunMeta } from '../../engine/store/run-store.js';
import { gaussianBumps } from '../../streams/gaussian-bumps.js';
import type { Snapshot } from '../../streams/events.js';
import { readRunEvents } from '../../streams/replay.js';
import { tinyContext } from './script-context.js';

describe('examples/hole', function () {
  this.timeout(120_000);
  let runsDir: string;
  beforeEach(() => {
    runsDir = mkdtempSync(join(tmpdir(), 'pw-hole-'));
  });
  afterEach(() => rmSync(runsDir, { recursive: true, force: true }));

  it('samples alternately inside and outside the hole, and scores each side', () => {
    const full = gaussianBumps({ size: 8, dx: 1 });
    const rect = centredHole(8);
    expect(rect).to.deep.equal({ x0: 2.5, y0: 2.5, x1: 4.5, y1: 4.5 });
    const c = holeConditions(full, rect, 6, 1);
    for (let k = 0; k < 6; k++) {
      const inside = c[2 * k] >= 3 && c[2 * k] <= 4 && c[2 * k + 1] >= 3 && c[2 * k + 1] <= 4;
      expect(inside).to.equal(k % 2 === 0);
    }
    expect(() => holeConditions(full, { x0: 3.2, y0: 3.2, x1: 3.4, y1: 3.4 }, 4, 1)).to.throw(
      /holds no bump centre/,
    );
    // two samples inside (one right, one wrong), one outside (right)
    const images = new Float32Array(3 * 64).fill(-1);
    const labels = new Float32Array([3, 3, 4, 4, 0, 6]);
    images[0 * 64 + 3 * 8 + 3] = 1;
    images[1 * 64 + 0 * 8 + 7] = 1;
    images[2 * 64 + 6 * 8 + 0] = 1;
    const s: Snapshot = {
      runId: 'r',
      step: 1,
      size: 8,
      labels,
      images,
      activations: new Float32Array(0),
      dim: 0,
    };
    expect(holeAccuracy(s, rect)).to.deep.equal({
      'acc-in': 0.5,
      'acc-out': 1,
      'one-bump-in': 1,
      'one-bump-out': 1,
    });
  });

  it('trains without the hole and stores in/out accuracy, phases and the assessment metrics', async () => {
    await tf.setBackend('cpu');
    const before = tf.memory().numTensors;
    await lastValueFrom(hole(tinyContext(runsDir)).pipe(toArray()));
    const [runId] = readdirSync(runsDir);
    const dir = join(runsDir, runId);
    const meta = readRunMeta(dir);
    expect(meta).to.include({ status: 'completed' });
    // Centres 2 px from the edge (the default): 2 … 5, 16 of them, 4 inside the hole.
    expect(meta.config).to.deep.include({ hole: centredHole(8), datasetSize: 12 });
    const stored = readRunEvents(dir);
    const at = (name: string): number[] =>
      stored.flatMap((e) => (e.type === 'metric' && e.name === name ? [e.step] : []));
    for (const name of [
      'hole/acc-in',
      'hole/acc-out',
      'hole/one-bump-in',
      'phase/accuracy',
      'phase/r2x',
    ]) {
      expect(at(name), name).to.deep.equal([4, 8, 12]);
    }
    expect(stored.filter((e) => e.type === 'step')).to.have.length(12);
    expect(stored.some((e) => e.type === 'phase')).to.equal(true);
    expect(tf.memory().numTensors).to.equal(before);
  });
});
