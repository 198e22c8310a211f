import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, of, Subject, tap, toArray } from 'rxjs';
import { snapshotEvery } from '../../operators/snapshot-every.js';
import { unetDdpm } from '../../engine/models/unet-ddpm.js';
import type { EventInput, ModelSample, Sampler, Snapshot } from '../../streams/events.js';
import { Gate } from '../../streams/gate.js';
import { gaussianBumps } from '../../streams/gaussian-bumps.js';
import { training } from '../../streams/training.js';

type StepInput = Extract<EventInput, { type: 'step' }>;
const step = (n: number): StepInput => ({ type: 'step', step: n, loss: 1, examplesPerSec: 1 });
const conditions = new Float32Array([1, 2]);
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A model whose frozen samplers resolve when the test says so, recording what was frozen. */
function fakeModel() {
  const frozen: number[] = [];
  const disposed: number[] = [];
  const release: (() => void)[] = [];
  let current = 0;
  const model = {
    set step(n: number) {
      current = n;
    },
    freeze(): Sampler {
      const at = current;
      frozen.push(at);
      return {
        step: at,
        sample: () =>
          new Promise<ModelSample>((resolve) =>
            release.push(() =>
              resolve({
                images: new Float32Array([at]),
                activations: { h: { data: new Float32Array([at, at]), dim: 2 } },
              }),
            ),
          ),
        dispose: () => disposed.push(at),
      };
    },
  };
  return { model, frozen, disposed, release };
}

describe('snapshotEvery', () => {
  it('freezes the model at each due step at once and never drops one', async () => {
    const { model, frozen, disposed, release } = fakeModel();
    const steps = new Subject<StepInput>();
    const out: Snapshot[] = [];
    steps.pipe(snapshotEvery(2, model, { conditions, size: 1 })).subscribe((s) => out.push(s));
    for (let n = 1; n <= 6; n++) {
      model.step = n;
      steps.next(step(n));
    }
    // frozen synchronously at 2, 4 and 6 although no sampling has finished
    expect(frozen).to.deep.equal([2, 4, 6]);
    while (release.length) {
      release.shift()?.();
      await tick();
    }
    expect(out.map((s) => s.step)).to.deep.equal([2, 4, 6]);
    expect(out.map((s) => s.images[0])).to.deep.equal([2, 4, 6]);
    expect(out[0]).to.include({ dim: 2, size: 1 });
    expect(Array.from(out[1].activations)).to.deep.equal([4, 4]);
    expect(disposed).to.deep.equal([2, 4, 6]);
  });

  it('holds training back through the gate while the queue is full', async () => {
    const { model, release } = fakeModel();
    const gate = new Gate(1);
    const steps = new Subject<StepInput>();
    steps.pipe(snapshotEvery(1, model, { conditions, size: 1, gate })).subscribe();
    model.step = 1;
    steps.next(step(1));
    expect(gate.closed).to.equal(true);
    let passed = false;
    void gate.ready()?.then(() => (passed = true));
    await tick();
    expect(passed).to.equal(false);
    release.shift()?.();
    await tick();
    await tick();
    expect(passed).to.equal(true);
  });

  it('disposes queued samplers when unsubscribed', () => {
    const { model, disposed } = fakeModel();
    const steps = new Subject<StepInput>();
    const sub = steps.pipe(snapshotEvery(1, model, { conditions, size: 1 })).subscribe();
    for (let n = 1; n <= 3; n++) {
      model.step = n;
      steps.next(step(n));
    }
    sub.unsubscribe();
    expect(disposed.sort()).to.deep.equal([1, 2, 3]);
  });

  it('names a missing layer in a one-line error', async () => {
    const { model, release } = fakeModel();
    const p = lastValueFrom(
      of(step(1)).pipe(snapshotEvery(1, model, { conditions, size: 1, layer: 'x' })),
    );
    await tick();
    release.shift()?.();
    let message = '';
    await p.catch((e: Error) => (message = e.message));
    expect(message).to.equal('snapshotEvery layer "x" is not an activation of the model (has h)');
  });

  it('rejects a bad interval and a bad model with one-line errors', () => {
    const { model } = fakeModel();
    expect(() => snapshotEvery(0, model, { conditions, size: 1 })).to.throw(
      /^snapshotEvery every must be a positive integer number of steps \(got 0\)$/,
    );
    expect(() => snapshotEvery(2, {} as never, { conditions, size: 1 })).to.throw(/freeze/);
  });

  it('on a real model, each snapshot equals sampling a checkpoint saved at its step', async () => {
    await tf.setBackend('cpu');
    const dir = mkdtempSync(join(tmpdir(), 'pw-snap-'));
    try {
      const config = { size: 8, widths: [4, 8, 8] as [number, number, number], T: 10, seed: 3 };
      const model = unetDdpm(config);
      const data = gaussianBumps({ size: 8, dx: 1 });
      const labels = new Float32Array([2, 3, 5, 4]);
      const snaps = await lastValueFrom(
        training(model, data, { steps: 9, batchSize: 4, seed: 1, gate: new Gate(2) }).pipe(
          snapshotEvery(3, model, { conditions: labels, size: 8, seed: 7, sampleSteps: 2 }),
          toArray(),
        ),
      );
      expect(snaps.map((s) => s.step)).to.deep.equal([3, 6, 9]);

      // the same seeded run again, saving a checkpoint at each due step with training held
      const again = unetDdpm(config);
      const gate = new Gate(1);
      const saves: Promise<void>[] = [];
      await lastValueFrom(
        training(again, data, { steps: 9, batchSize: 4, seed: 1, gate }).pipe(
          tap((e) => {
            if (e.step % 3 !== 0) return;
            const resume = gate.pause();
            saves.push(again.save(join(dir, String(e.step))).finally(resume));
          }),
        ),
      );
      await Promise.all(saves);
      for (const s of snaps) {
        const loaded = unetDdpm(config);
        await loaded.load(join(dir, String(s.step)));
        const ref = await loaded.sample(labels, { seed: 7 + s.step, steps: 2 });
        expect(Array.from(ref.images), `step ${s.step}`).to.deep.equal(Array.from(s.images));
        loaded.dispose();
      }
      model.dispose();
      again.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
