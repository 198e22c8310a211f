import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isObservable, lastValueFrom, toArray } from 'rxjs';
import divaDisks from '../../examples/diva-disks.js';
import { readRunMeta } from '../../engine/store/run-store.js';
import { readRunEvents } from '../../streams/replay.js';
import { tinyContext } from './script-context.js';

describe('examples/diva-disks', () => {
  let runsDir: string;
  beforeEach(() => {
    runsDir = mkdtempSync(join(tmpdir(), 'pw-ex-'));
  });
  afterEach(() => rmSync(runsDir, { recursive: true, force: true }));

  it('trains DiVA on disks and stores the seed-001 probes at every snapshot', async () => {
    await tf.setBackend('cpu');
    const before = tf.memory().numTensors;
    const out = divaDisks(tinyContext(runsDir));
    if (!isObservable(out)) throw new Error('expected an Observable');
    const events = await lastValueFrom(out.pipe(toArray()));
    const runDir = join(runsDir, events[0].runId);
    const stored = readRunEvents(runDir);
    expect(stored.filter((e) => e.type === 'step')).to.have.length(12);
    const names = new Set(
      stored.flatMap((e) => (e.type === 'metric' ? [`${e.name}@${e.step}`] : [])),
    );
    for (const step of [4, 8, 12]) {
      for (const name of [
        'diva/r2/cx',
        'diva/r2/cy',
        'diva/r2/background',
        'diva/participation/cx',
        'diva/tad',
        'diva/tad/captured',
        'diva/conditional-mse',
        'diva/unconditional-mse',
        'diva/mean-image-mse',
        'diva/denoise-mse/guided',
        'diva/denoise-mse/unguided',
        'diva/straightness',
        'diva/straightness/pixels',
      ]) {
        expect(names.has(`${name}@${step}`), `${name}@${step}`).to.equal(true);
      }
    }
    const grids = stored.filter((e) => e.type === 'images');
    expect(grids.map((e) => e.step)).to.deep.equal([4, 8, 12]);
    expect(grids[0]).to.deep.include({ name: 'diva/conditional', size: 8 });
    expect(stored.filter((e) => e.type === 'matrix').map((e) => e.step)).to.deep.equal([4, 8, 12]);
    // The gate holds training while probes run: every metric was taken on its own step's weights.
    expect(stored.some((e) => e.type === 'metric' && e.tags?.weightsStep !== undefined)).to.equal(
      false,
    );
    expect(readRunMeta(runDir)).to.include({ status: 'completed', name: 'diva-disks' });
    expect(readRunMeta(runDir).config).to.include({ model: 'diva', latentDim: 3 });
    expect(tf.memory().numTensors).to.equal(before);
  });
});
