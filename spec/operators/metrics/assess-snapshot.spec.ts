import { expect } from 'chai';
import { assessSnapshot } from '../../../operators/metrics/assess-snapshot.js';
import { defaultPhaseThresholds } from '../../../operators/metrics/classify-phase.js';
import { syntheticSnapshot } from '../synthetic-snapshot.js';

const fast = { seed: 1, nEpochs: 200 };

describe('assessSnapshot', () => {
  it('classifies an ordered 2-D manifold with correctly placed bumps as C', async () => {
    const a = await assessSnapshot(syntheticSnapshot('ordered'), fast);
    expect(a.phase).to.equal('C');
    expect(a.bumps.one).to.equal(1);
    expect(a.accuracy).to.be.greaterThan(0.95);
    expect(a.r2.mean).to.be.greaterThan(0.8);
    expect(a.evidence.neighbourhood).to.be.greaterThan(0.6);
    expect(a.evidence.intrinsicDim).to.be.closeTo(2, 0.5);
  });

  it('classifies a shuffled manifold with misplaced single bumps as B', async () => {
    const a = await assessSnapshot(syntheticSnapshot('shuffled'), fast);
    expect(a.phase).to.equal('B');
    expect(a.bumps.one).to.equal(1);
    expect(a.evidence.accuracyOneBump).to.be.lessThan(0.1);
    expect(a.r2.mean).to.be.lessThan(0.2);
    expect(a.evidence.intrinsicDim).to.be.closeTo(2, 0.5);
  });

  it('classifies unstructured activations with empty or two-bump images as A', async () => {
    const a = await assessSnapshot(syntheticSnapshot('noise'), fast);
    expect(a.phase).to.equal('A');
    expect(a.bumps.none).to.be.closeTo(0.5, 0.05);
    expect(a.bumps.many).to.be.closeTo(0.5, 0.05);
    expect(a.bumps.none + a.bumps.one + a.bumps.many).to.be.closeTo(1, 1e-9);
    expect(a.evidence.intrinsicDim).to.be.greaterThan(10);
  });

  it('does not call injected (x, y) encodings C when the images are wrong', async () => {
    const none = await assessSnapshot(syntheticSnapshot('encoding-none'), fast);
    expect(none.r2.mean, 'R² is high from the encodings alone').to.be.greaterThan(0.8);
    expect(none.evidence.neighbourhood).to.be.greaterThan(0.6);
    expect(none.phase).to.equal('A');
    const wrong = await assessSnapshot(syntheticSnapshot('encoding-wrong'), fast);
    expect(wrong.r2.mean).to.be.greaterThan(0.8);
    expect(wrong.phase).to.equal('B');
  });

  it('is deterministic given the seed and records every figure and threshold used', async () => {
    const s = syntheticSnapshot('ordered', 80, 3);
    const a = await assessSnapshot(s, { seed: 5, nEpochs: 100 });
    const b = await assessSnapshot(s, { seed: 5, nEpochs: 100 });
    expect(Array.from(a.embedding)).to.deep.equal(Array.from(b.embedding));
    expect(a.embedding.length).to.equal(80 * 3);
    expect(a.evidence).to.deep.equal(b.evidence);
    expect(a.step).to.equal(100);
    for (const key of [
      'n',
      'oneBump',
      'none',
      'many',
      'accuracy',
      'accuracyOneBump',
      'r2x',
      'r2y',
      'r2mean',
      'intrinsicDim',
      'neighbourhood',
      'tol',
      ...Object.keys(defaultPhaseThresholds),
    ]) {
      expect(a.evidence, key).to.have.property(key).that.is.a('number');
    }
    expect(a.evidence.n).to.equal(80);
  });

  it('supports the cheap PCA embedding, a tolerance and threshold overrides', async () => {
    const s = syntheticSnapshot('ordered', 100, 4);
    const pca = await assessSnapshot(s, { embed: 'pca' });
    expect(pca.phase).to.equal('C');
    const strict = await assessSnapshot(s, { embed: 'pca', thresholds: { minR2: 0.99 } });
    expect(strict.phase).to.equal('B');
    expect(strict.evidence.minR2).to.equal(0.99);
    const tight = await assessSnapshot(s, { embed: 'pca', tol: 0.001 });
    expect(tight.accuracy).to.be.lessThan(pca.accuracy);
  });

  it('keeps every figure finite on degenerate input (identical activations, blank images)', async () => {
    const s = syntheticSnapshot('noise', 30);
    const blank = { ...s, activations: new Float32Array(30 * s.dim), images: s.images.fill(-1) };
    for (const embed of ['umap', 'pca'] as const) {
      const a = await assessSnapshot(blank, { embed, nEpochs: 50 });
      expect(a.phase).to.equal('A');
      expect(a.bumps.none).to.equal(1);
      expect(a.evidence.intrinsicDim).to.equal(0);
      for (const [key, v] of Object.entries(a.evidence))
        expect(Number.isFinite(v), key).to.equal(true);
      for (const v of a.embedding) expect(Number.isFinite(v)).to.equal(true);
    }
  });

  it('copes with a full-size snapshot: 500 samples × 4096-D activations', async () => {
    const n = 500;
    const dim = 4096;
    const base = syntheticSnapshot('ordered', n, 6);
    const activations = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < dim; j++)
        activations[i * dim + j] = base.activations[i * 64 + (j % 64)] * (1 + (j >> 6) / 64);
    }
    const a = await assessSnapshot({ ...base, activations, dim }, { seed: 1, nEpochs: 100 });
    expect(a.embedding.length).to.equal(n * 3);
    expect(a.phase).to.equal('C');
    for (const v of Object.values(a.evidence)) expect(Number.isFinite(v)).to.equal(true);
  });

  it('rejects bad options and mis-sized snapshots with one-line errors', async () => {
    const s = syntheticSnapshot('noise', 20);
    const bad: [Parameters<typeof assessSnapshot>[1], RegExp][] = [
      [{ tol: 0 }, /^tol must be a number > 0 in pixels \(got 0\)$/],
      [{ embed: 'tsne' as 'pca' }, /^embed must be 'umap' or 'pca' \(got tsne\)$/],
      [{ thresholds: { minOneBump: -1 } }, /^thresholds\.minOneBump must be a number in \[0, 1\]/],
      [{ k: 0 }, /^k must be a positive integer/],
    ];
    for (const [opts, re] of bad) {
      let err: unknown;
      await assessSnapshot(s, opts).catch((e: unknown) => (err = e));
      expect(err).to.be.instanceOf(Error);
      expect((err as Error).message).to.match(re);
    }
    const wrong = { ...s, activations: new Float32Array(7) };
    let err: unknown;
    await assessSnapshot(wrong).catch((e: unknown) => (err = e));
    expect((err as Error).message).to.match(
      /^snapshot\.activations must hold N\*dim = 1280 values \(got 7\)$/,
    );
  });
});
