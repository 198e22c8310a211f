import { expect } from 'chai';
import { firstValueFrom, lastValueFrom, of, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { representationSnapshots } from '../../operators/representation-snapshots.js';
import { snapshotSamples, type Snapshot } from '../../streams/events.js';

/** A model's snapshot of 3 vector samples (length 2), asked for classes 0, 1, 2, two layers. */
const snap = (step: number): Snapshot => ({
  runId: 'r',
  step,
  size: 2,
  labels: new Float32Array([0, 1, 2]),
  images: new Float32Array([0, 0, 1, 1, 2, 2]),
  activations: new Float32Array([1, 2, 3]),
  dim: 1,
  layers: {
    layer1: { data: new Float32Array([1, 2, 3]), dim: 1 },
    layer2: { data: new Float32Array([1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]), dim: 4 },
  },
});

const byClass = (s: Snapshot) => ({ class: { values: s.labels, categorical: true } });

describe('representationSnapshots', () => {
  it('emits one representation snapshot per snapshot, at the same frames', () => {
    new TestScheduler((a, e) => {
      expect(a).to.deep.equal(e);
    }).run(({ cold, expectObservable }) => {
      const src = cold('-a---b---|', { a: snap(1), b: snap(2) });
      expectObservable(src.pipe(representationSnapshots({ factors: byClass }))).toBe('-a---b---|', {
        a: rep(snap(1)),
        b: rep(snap(2)),
      });
    });
  });

  it('takes the chosen layer as the activations, the factors from the original snapshot and the verdicts', async () => {
    const r = await firstValueFrom(
      of(snap(4)).pipe(
        representationSnapshots({
          layer: 'layer2',
          factors: byClass,
          samplesOk: (s) => new Float32Array(s.images.length / s.size).fill(1),
        }),
      ),
    );
    expect(r.step).to.equal(4);
    expect(r.dim).to.equal(4);
    expect(r.activations).to.deep.equal(snap(4).layers!.layer2.data);
    expect(r.factors?.class.values).to.deep.equal(new Float32Array([0, 1, 2]));
    expect(r.factors?.class.categorical).to.equal(true);
    expect(r.samplesOk).to.deep.equal(new Float32Array([1, 1, 1]));
    expect(r.size).to.equal(0);
    expect(r.labels).to.have.length(0);
    expect(r.images).to.have.length(0);
    expect(snapshotSamples(r)).to.equal(3);
  });

  it('keeps the snapshot activations without a layer, and sends no verdicts unless asked', async () => {
    const [r] = await lastValueFrom(
      of(snap(1)).pipe(representationSnapshots({ factors: byClass }), toArray()),
    );
    expect(r.activations).to.deep.equal(new Float32Array([1, 2, 3]));
    expect(r.dim).to.equal(1);
    expect(r).not.to.have.property('samplesOk');
  });

  it('a layer the model does not have: one line naming the layer and those it has', async () => {
    const err = await lastValueFrom(
      of(snap(1)).pipe(representationSnapshots({ layer: 'layer9', factors: byClass })),
    ).catch((e: Error) => e);
    expect((err as Error).message).to.equal(
      'representationSnapshots layer "layer9" is not an activation of the model (has layer1, layer2)',
    );
  });

  it('refuses factors or samplesOk that are not functions, in one line', () => {
    expect(() => representationSnapshots({ factors: {} as unknown as typeof byClass })).to.throw(
      /^representationSnapshots factors must be a function/,
    );
    expect(() =>
      representationSnapshots({
        factors: byClass,
        samplesOk: [1] as unknown as () => Float32Array,
      }),
    ).to.throw(/^representationSnapshots samplesOk must be a function/);
  });
});

/** What the operator should make of `s` with `byClass` and no layer. */
function rep(s: Snapshot): Snapshot {
  return {
    ...s,
    size: 0,
    labels: new Float32Array(0),
    images: new Float32Array(0),
    factors: byClass(s),
  };
}
