import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isObservable, lastValueFrom, toArray } from 'rxjs';
import byoModel from '../../examples/bring-your-own-model.js';
import { readRunMeta } from '../../engine/store/run-store.js';
import { readRunEvents } from '../../streams/replay.js';
import { tinyContext } from './script-context.js';

describe('examples/bring-your-own-model', () => {
  let runsDir: string;
  beforeEach(() => {
    runsDir = mkdtempSync(join(tmpdir(), 'pw-ex-'));
  });
  afterEach(() => rmSync(runsDir, { recursive: true, force: true }));

  it('trains a user MLP through training, snapshots and assesses it, and stores the run', async () => {
    await tf.setBackend('cpu');
    const before = tf.memory().numTensors;
    const out = byoModel(tinyContext(runsDir));
    if (!isObservable(out)) throw new Error('expected an Observable');
    const events = await lastValueFrom(out.pipe(toArray()));
    const runDir = join(runsDir, events[0].runId);
    const stored = readRunEvents(runDir);
    expect(stored.filter((e) => e.type === 'step')).to.have.length(12);
    const names = stored.flatMap((e) => (e.type === 'metric' ? [`${e.name}@${e.step}`] : []));
    expect(names).to.include.members(['phase/accuracy@4', 'phase/accuracy@8', 'phase/accuracy@12']);
    expect(stored.some((e) => e.type === 'phase')).to.equal(true);
    expect(readRunMeta(runDir)).to.include({ status: 'completed', name: 'mlp-denoiser' });
    expect(readRunMeta(runDir).config).to.include({ model: 'mlp-denoiser' });
    expect(tf.memory().numTensors).to.equal(before);
  });
});
