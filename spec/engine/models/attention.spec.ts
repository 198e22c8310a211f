import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { selectBackend } from '../../../engine/backend/backend.js';
import {
  createUnet,
  resolveUnetConfig,
  selfAttention,
  unetApply,
  unetShapes,
  type UnetWeights,
} from '../../../engine/models/unet.js';

/** Seeded weights of one attention layer over `c` channels. */
function layerWeights(c: number, seed: number): UnetWeights {
  const r = (shape: number[], s: number): tf.Tensor => tf.randomNormal(shape, 0, 0.5, 'float32', s);
  return {
    'a.gn.g': tf.add(1, r([c], seed)),
    'a.gn.b': r([c], seed + 1),
    'a.q': r([c, c], seed + 2),
    'a.k': r([c, c], seed + 3),
    'a.v': r([c, c], seed + 4),
    'a.o': r([c, c], seed + 5),
  };
}

/** The same layer written out in plain loops: GroupNorm, per-head softmax(QKᵀ/√d)V, projection. */
function reference(
  x: Float32Array,
  [b, h, w, c]: number[],
  W: Record<string, Float32Array>,
  groups: number,
  heads: number,
): Float32Array {
  const n = h * w;
  const norm = new Float32Array(x.length);
  const per = c / groups;
  for (let i = 0; i < b; i++) {
    for (let g = 0; g < groups; g++) {
      let sum = 0;
      let sq = 0;
      for (let p = 0; p < n; p++) {
        for (let k = g * per; k < (g + 1) * per; k++) sum += x[(i * n + p) * c + k];
      }
      const mean = sum / (n * per);
      for (let p = 0; p < n; p++) {
        for (let k = g * per; k < (g + 1) * per; k++) sq += (x[(i * n + p) * c + k] - mean) ** 2;
      }
      const inv = 1 / Math.sqrt(sq / (n * per) + 1e-5);
      for (let p = 0; p < n; p++) {
        for (let k = g * per; k < (g + 1) * per; k++) {
          const j = (i * n + p) * c + k;
          norm[j] = (x[j] - mean) * inv * W['a.gn.g'][k] + W['a.gn.b'][k];
        }
      }
    }
  }
  const project = (m: Float32Array): Float32Array => {
    const out = new Float32Array(x.length);
    for (let r = 0; r < b * n; r++) {
      for (let o = 0; o < c; o++) {
        let s = 0;
        for (let k = 0; k < c; k++) s += norm[r * c + k] * m[k * c + o];
        out[r * c + o] = s;
      }
    }
    return out;
  };
  const [q, k, v] = [project(W['a.q']), project(W['a.k']), project(W['a.v'])];
  const d = c / heads;
  const mixed = new Float32Array(x.length);
  for (let i = 0; i < b; i++) {
    for (let hd = 0; hd < heads; hd++) {
      for (let p = 0; p < n; p++) {
        const s = new Float64Array(n);
        for (let r = 0; r < n; r++) {
          for (let j = hd * d; j < (hd + 1) * d; j++) {
            s[r] += q[(i * n + p) * c + j] * k[(i * n + r) * c + j];
          }
          s[r] /= Math.sqrt(d);
        }
        const top = Math.max(...s);
        const e = s.map((z) => Math.exp(z - top));
        const total = e.reduce((a, z) => a + z, 0);
        for (let j = hd * d; j < (hd + 1) * d; j++) {
          let m = 0;
          for (let r = 0; r < n; r++) m += (e[r] / total) * v[(i * n + r) * c + j];
          mixed[(i * n + p) * c + j] = m;
        }
      }
    }
  }
  const out = new Float32Array(x.length);
  for (let r = 0; r < b * n; r++) {
    for (let o = 0; o < c; o++) {
      let s = 0;
      for (let j = 0; j < c; j++) s += mixed[r * c + j] * W['a.o'][j * c + o];
      out[r * c + o] = x[r * c + o] + s;
    }
  }
  return out;
}

describe('self-attention', () => {
  before(async () => {
    await selectBackend('cpu');
  });

  for (const heads of [1, 2, 4]) {
    it(`matches softmax(QKᵀ/√d)V written out, ${heads} head(s); weights sum to 1; no leak`, () => {
      const shape: [number, number, number, number] = [2, 3, 3, 8];
      const W = layerWeights(8, 10 * heads);
      const x = tf.randomNormal(shape, 0, 1, 'float32', 7) as tf.Tensor4D;
      const before = tf.memory().numTensors;
      const { out, weights } = selfAttention(x, W, 'a', { groups: 2, heads });
      expect(out.shape).to.deep.equal(shape);
      expect(weights).to.have.length(heads);
      for (const a of weights) {
        expect(a.shape).to.deep.equal([2, 9, 9]);
        const rows = tf.tidy(() => tf.sum(a, 2).dataSync());
        for (const s of rows) expect(s).to.be.closeTo(1, 1e-5);
        for (const v of a.dataSync()) expect(v).to.be.within(0, 1);
      }
      const got = out.dataSync();
      tf.dispose([out, ...weights]);
      expect(tf.memory().numTensors).to.equal(before);
      const plain = Object.fromEntries(
        Object.entries(W).map(([k, t]) => [k, t.dataSync() as Float32Array]),
      );
      const want = reference(x.dataSync() as Float32Array, shape, plain, 2, heads);
      for (let i = 0; i < want.length; i++) expect(got[i]).to.be.closeTo(want[i], 1e-3);
      tf.dispose([x, ...Object.values(W)]);
    });
  }

  for (const heads of [1, 2]) {
    it(`with weights: false runs the fused kernel and matches the written-out layer, ${heads} head(s), with the composed gradients`, async () => {
      const shape: [number, number, number, number] = [2, 3, 5, 8];
      const W = layerWeights(8, 20 * heads);
      const x = tf.randomNormal(shape, 0, 1, 'float32', 8) as tf.Tensor4D;
      const before = tf.memory().numTensors;
      const { kernelNames } = await tf.profile(() => {
        const { out, weights } = selfAttention(x, W, 'a', { groups: 2, heads, weights: false });
        expect(weights).to.deep.equal([]);
        const got = out.dataSync();
        out.dispose();
        const plain = Object.fromEntries(
          Object.entries(W).map(([k, t]) => [k, t.dataSync() as Float32Array]),
        );
        const want = reference(x.dataSync() as Float32Array, shape, plain, 2, heads);
        for (let i = 0; i < want.length; i++) expect(got[i]).to.be.closeTo(want[i], 1e-3);
      });
      expect(kernelNames).to.include('PhasewatchAttention');
      expect(kernelNames).not.to.include('Softmax');
      const gradsOf = (fused: boolean): Float32Array[] =>
        tf.tidy(() => {
          const f = (
            a: tf.Tensor,
            q: tf.Tensor,
            k: tf.Tensor,
            v: tf.Tensor,
            o: tf.Tensor,
          ): tf.Tensor => {
            const w = { ...W, 'a.q': q, 'a.k': k, 'a.v': v, 'a.o': o };
            return tf.sum(
              tf.square(
                selfAttention(a as tf.Tensor4D, w, 'a', { groups: 2, heads, weights: !fused }).out,
              ),
            );
          };
          return tf
            .grads(f)([x, W['a.q'], W['a.k'], W['a.v'], W['a.o']])
            .map((g) => g.dataSync() as Float32Array);
        });
      const [fused, composed] = [gradsOf(true), gradsOf(false)];
      fused.forEach((g, i) => {
        const scale = Math.max(...composed[i].map(Math.abs));
        for (let j = 0; j < g.length; j++) {
          expect(g[j], `gradient ${i}[${j}]`).to.be.closeTo(composed[i][j], 1e-4 * scale);
        }
      });
      expect(tf.memory().numTensors).to.equal(before);
      tf.dispose([x, ...Object.values(W)]);
    });
  }

  it('mixes positions: changing one position changes the output at every other', () => {
    const W = layerWeights(4, 3);
    const x = tf.randomNormal([1, 2, 2, 4], 0, 1, 'float32', 5) as tf.Tensor4D;
    const bumped = tf.tidy(() => tf.add(x, tf.oneHot([0], 4).reshape([1, 2, 2, 1]).mul(3)));
    const [a, b] = tf.tidy(() => [
      selfAttention(x, W, 'a', { groups: 1 }).out.arraySync()[0],
      selfAttention(bumped as tf.Tensor4D, W, 'a', { groups: 1 }).out.arraySync()[0],
    ]);
    // position (1,1) was not changed in the input, but its output moves
    const diff = a[1][1].map((v, i) => Math.abs(v - b[1][1][i])).reduce((s, v) => s + v, 0);
    expect(diff).to.be.greaterThan(1e-4);
    tf.dispose([x, bumped, ...Object.values(W)]);
  });

  it('rejects heads that do not divide the channels, in one line', () => {
    const W = layerWeights(6, 1);
    const x = tf.zeros([1, 2, 2, 6]) as tf.Tensor4D;
    expect(() => selfAttention(x, W, 'a', { groups: 1, heads: 4 })).to.throw(
      /^attention heads must be a positive integer dividing 6 channels \(got 4\)$/,
    );
    tf.dispose([x, ...Object.values(W)]);
  });
});

describe('unet with interlaced attention (seed 004)', () => {
  const tiny = {
    size: 16,
    widths: [4, 8, 8] as [number, number, number],
    encDim: 8,
    condHidden: 0,
    attention: true,
    attentionAt: 'interlaced' as const,
    heads: 2,
  };

  before(async () => {
    await selectBackend('cpu');
  });

  it('puts one attention layer after each of the six blocks; bottom keeps the old names', () => {
    const names = unetShapes(resolveUnetConfig(tiny)).map(([n]) => n);
    for (const b of ['down1', 'down2', 'down3', 'up1', 'up2', 'up3']) {
      for (const p of ['gn.g', 'gn.b', 'q', 'k', 'v', 'o']) {
        expect(names).to.include(`attn.${b}.${p}`);
      }
    }
    const bottom = unetShapes(resolveUnetConfig({ ...tiny, attentionAt: 'bottom' })).map(
      ([n]) => n,
    );
    expect(bottom.filter((n) => n.startsWith('attn'))).to.deep.equal([
      'attn.gn.g',
      'attn.gn.b',
      'attn.q',
      'attn.k',
      'attn.v',
      'attn.o',
    ]);
    expect(names.filter((n) => n.startsWith('attn'))).to.have.length(36);
    // interlaced-half: the same but for the full-resolution block
    const half = unetShapes(resolveUnetConfig({ ...tiny, attentionAt: 'interlaced-half' })).map(
      ([n]) => n,
    );
    expect(half.filter((n) => n.startsWith('attn'))).to.have.length(30);
    expect(half.some((n) => n.startsWith('attn.up3.'))).to.equal(false);
  });

  it('maps [B,S,S,1] to ε of the same shape, keeps layer 4, leaks nothing', () => {
    const p = createUnet(tiny, 1);
    const before = tf.memory().numTensors;
    const x = tf.randomNormal([3, 16, 16, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
    const t = tf.tensor1d([1, 50, 99]);
    const labels = tf.tensor2d([1, 2, 7, 8, 14, 3], [3, 2]);
    const out = unetApply(p, x, t, labels, { capture: true });
    expect(out.eps.shape).to.deep.equal([3, 16, 16, 1]);
    expect(out.layer4?.shape).to.deep.equal([3, 4, 4, 8]);
    for (const v of out.eps.dataSync()) expect(Number.isFinite(v)).to.equal(true);
    tf.dispose([x, t, labels, out.eps, out.layer4 as tf.Tensor]);
    expect(tf.memory().numTensors).to.equal(before);
    tf.dispose(Object.values(p.weights));
  });

  it('passes gradients to every attention weight of every layer', () => {
    const p = createUnet(tiny, 2);
    const x = tf.randomNormal([2, 16, 16, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
    const t = tf.tensor1d([10, 60]);
    const labels = tf.tensor2d([3, 4, 11, 9], [2, 2]);
    const target = tf.randomNormal([2, 16, 16, 1], 0, 1, 'float32', 4);
    const before = tf.memory().numTensors;
    const attn = Object.fromEntries(
      Object.entries(p.weights).filter(([n]) => n.startsWith('attn.')),
    ) as Record<string, tf.Variable>;
    const { value, grads } = tf.variableGrads(
      () => tf.losses.meanSquaredError(target, unetApply(p, x, t, labels).eps) as tf.Scalar,
      Object.values(attn),
    );
    expect(Object.keys(grads)).to.have.length(36);
    for (const [name, v] of Object.entries(attn)) {
      const g = grads[v.name];
      const norm = tf.tidy(() => tf.norm(g).dataSync()[0]);
      expect(Number.isFinite(norm), name).to.equal(true);
      expect(norm, name).to.be.greaterThan(0);
    }
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).to.equal(before);
    tf.dispose([x, t, labels, target, ...Object.values(p.weights)]);
  });

  it('rejects a bad placement or head count with one-line errors naming the field', () => {
    expect(() =>
      resolveUnetConfig({ ...tiny, attentionAt: 'everywhere' as unknown as 'bottom' }),
    ).to.throw(
      /^unet\.attentionAt must be one of bottom, interlaced, interlaced-half \(got "everywhere"\)$/,
    );
    expect(() => resolveUnetConfig({ ...tiny, heads: 0 })).to.throw(/^unet\.heads must be/);
    expect(() => resolveUnetConfig({ ...tiny, heads: 3 })).to.throw(
      /^unet\.heads must divide the channels of every attended block \(got 3; down1 has 8\)$/,
    );
    // heads are only checked against blocks that have attention
    expect(resolveUnetConfig({ ...tiny, attention: false, heads: 3 }).heads).to.equal(3);
  });
});
