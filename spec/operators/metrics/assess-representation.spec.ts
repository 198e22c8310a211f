import { expect } from 'chai';
import { assessRepresentation } from '../../../operators/metrics/assess-representation.js';
import { defaultRepresentationThresholds } from '../../../operators/metrics/classify-representation.js';
import { syntheticRepresentation, type FactorSpec } from '../synthetic-representation.js';

const fast = { seed: 1, embed: 'pca' as const };

const FACTOR_SETS: [string, FactorSpec[]][] = [
  ['1 continuous', [{ name: 'angle' }]],
  ['2 continuous', [{ name: 'x' }, { name: 'y' }]],
  ['3 continuous', [{ name: 'x' }, { name: 'y' }, { name: 'z' }]],
  ['1 categorical', [{ name: 'class', classes: 4 }]],
  [
    '2 categorical',
    [
      { name: 'class', classes: 4 },
      { name: 'style', classes: 3 },
    ],
  ],
  ['1 continuous + 1 categorical', [{ name: 'x' }, { name: 'class', classes: 3 }]],
  ['2 continuous + 1 categorical', [{ name: 'x' }, { name: 'y' }, { name: 'class', classes: 5 }]],
];

describe('assessRepresentation', () => {
  for (const [label, specs] of FACTOR_SETS) {
    describe(label, () => {
      it('calls Gaussian activations without structure A', async () => {
        const a = await assessRepresentation(syntheticRepresentation('noise', specs), fast);
        expect(a.phase).to.equal('A');
        expect(a.warning).to.equal(undefined);
        expect(a.evidence.dimRatio).to.be.greaterThan(defaultRepresentationThresholds.maxDimRatio);
        expect(a.evidence.structure).to.be.lessThan(0.05);
      });

      it('calls a manifold of the factors\u2019 dimension that scrambles them B', async () => {
        const a = await assessRepresentation(syntheticRepresentation('scrambled', specs), fast);
        expect(a.phase).to.equal('B');
        expect(a.evidence.dimRatio).to.be.lessThan(defaultRepresentationThresholds.maxDimRatio);
        expect(a.evidence.structure).to.be.lessThan(0.1);
        expect(a.evidence.ordering).to.be.lessThan(0.2);
      });

      it('calls the same manifold ordered by the factors C', async () => {
        const a = await assessRepresentation(syntheticRepresentation('ordered', specs), fast);
        expect(a.phase).to.equal('C');
        expect(a.rule).to.equal('representation');
        expect(a.evidence.structure).to.be.greaterThan(0.5);
        expect(a.evidence.ordering).to.be.greaterThan(0.9);
        expect(a.evidence.inputOk).to.equal(1);
        for (const s of specs) {
          const key = s.classes ? `probe/${s.name}` : `r2/${s.name}`;
          expect(a.evidence[key], key).to.be.greaterThan(0.9);
        }
      });
    });
  }

  it('keeps every figure and threshold it used as evidence, and a 3-D embedding', async () => {
    const snap = syntheticRepresentation('ordered', [{ name: 'x' }, { name: 'y' }]);
    const a = await assessRepresentation(snap, fast);
    for (const key of [
      'n',
      'dim',
      'factors',
      'factorDim',
      'intrinsicDim',
      'structure',
      'ordering',
    ]) {
      expect(a.evidence, key).to.have.property(key).that.is.a('number');
    }
    for (const [key, v] of Object.entries(defaultRepresentationThresholds)) {
      expect(a.evidence[key], key).to.equal(v);
    }
    expect(a.evidence.samplesOk).to.equal(-1);
    expect(a.embedding.length).to.equal(200 * 3);
  });

  it('lets the thresholds be tuned', async () => {
    const snap = syntheticRepresentation('ordered', [{ name: 'x' }]);
    const a = await assessRepresentation(snap, { ...fast, representation: { minStructure: 1 } });
    expect(a.phase).to.equal('B');
    expect(a.evidence.minStructure).to.equal(1);
  });

  it('reads the trainer\u2019s sample verdicts: mostly invalid without order is A, mostly valid allows C', async () => {
    const specs = [{ name: 'x' }, { name: 'y' }];
    const fifth = Float32Array.from({ length: 200 }, (_, i) => (i % 5 === 0 ? 1 : 0));
    const scrambled = syntheticRepresentation('scrambled', specs);
    const bad = await assessRepresentation({ ...scrambled, samplesOk: fifth }, fast);
    expect(bad.phase, 'a disordered manifold whose samples are mostly invalid').to.equal('A');
    expect(bad.evidence.samplesOk).to.be.closeTo(0.2, 1e-9);
    expect(bad.accuracy).to.be.closeTo(0.2, 1e-9);
    const snap = syntheticRepresentation('ordered', specs);
    const wrong = await assessRepresentation({ ...snap, samplesOk: fifth }, fast);
    expect(wrong.phase, 'ordered, but the samples are still wrong').to.equal('B');
    const some = await assessRepresentation(
      { ...snap, samplesOk: Float32Array.from({ length: 200 }, (_, i) => (i % 3 === 0 ? 0 : 1)) },
      fast,
    );
    expect(some.phase, '67% ok: ordered but not yet C').to.equal('B');
    const good = await assessRepresentation(
      { ...snap, samplesOk: new Float32Array(200).fill(1) },
      fast,
    );
    expect(good.phase).to.equal('C');
  });

  describe('honest inputs', () => {
    it('withholds the phase of too few samples and says so', async () => {
      const snap = syntheticRepresentation('ordered', [{ name: 'x' }], { n: 12 });
      const a = await assessRepresentation(snap, fast);
      expect(a.warning).to.match(/^phase not judged: only 12 samples \(at least 20/);
      expect(a.evidence.inputOk).to.equal(0);
    });

    it('withholds the phase when a factor has no variance', async () => {
      const snap = syntheticRepresentation('ordered', [{ name: 'x' }, { name: 'y' }]);
      snap.factors!.y.values.fill(0.5);
      const a = await assessRepresentation(snap, fast);
      expect(a.warning).to.equal('phase not judged: factor y has no variance');
      expect(a.evidence.inputOk).to.equal(0);
    });

    it('withholds the phase of NaN activations without measuring them', async () => {
      const snap = syntheticRepresentation('ordered', [{ name: 'x' }]);
      snap.activations[70] = NaN;
      const a = await assessRepresentation(snap, fast);
      expect(a.warning).to.equal(
        'phase not judged: activations hold a non-finite value at flat index 70',
      );
      expect(a.evidence.inputOk).to.equal(0);
      expect(a.evidence).not.to.have.property('structure');
      for (const v of Object.values(a.evidence)) expect(Number.isFinite(v)).to.equal(true);
    });

    it('throws one line for sizes that do not fit', async () => {
      const snap = syntheticRepresentation('ordered', [{ name: 'x' }]);
      const cases: [Partial<typeof snap>, RegExp][] = [
        [{ factors: {} }, /^snapshot\.factors must name at least one factor$/],
        [
          { factors: { x: { values: new Float32Array(5) } } },
          /^snapshot\.factors\.x must hold N = 200 values \(got 5\)$/,
        ],
        [
          { factors: { c: { values: new Float32Array(200).fill(0.5), categorical: true } } },
          /^snapshot\.factors\.c is categorical: its values must be class indices >= 0$/,
        ],
        [{ samplesOk: new Float32Array(3) }, /^snapshot\.samplesOk must hold N = 200 values/],
        [{ dim: 7 }, /^snapshot\.activations must hold N\*dim values/],
      ];
      for (const [patch, message] of cases) {
        let err: Error | undefined;
        try {
          await assessRepresentation({ ...snap, ...patch }, fast);
        } catch (e) {
          err = e as Error;
        }
        expect(err?.message, JSON.stringify(Object.keys(patch))).to.match(message);
      }
    });
  });
});
