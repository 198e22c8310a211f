import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { selectBackend } from '../../../engine/backend/backend.js';
import {
  createUnet,
  encodeConditions,
  resolveUnetConfig,
  unetApply,
  unetParamCount,
} from '../../../engine/models/unet.js';
import type { UnetConfig } from '../../../engine/models/unet.js';

const tiny = { widths: [4, 8, 8] as [number, number, number], encDim: 8, condHidden: 16 };

function run(config: Partial<UnetConfig>, batch: number) {
  const p = createUnet(config, 1);
  const S = p.config.size;
  const before = tf.memory().numTensors;
  const x = tf.randomNormal([batch, S, S, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
  const t = tf.tensor1d(Array.from({ length: batch }, (_, i) => i));
  const labels = tf.tensor2d(
    Array.from({ length: batch * 2 }, (_, i) => i % S),
    [batch, 2],
  );
  const out = unetApply(p, x, t, labels, { capture: true });
  const shapes = { eps: out.eps.shape, layer4: out.layer4?.shape };
  tf.dispose([x, t, labels, out.eps, out.layer4 as tf.Tensor]);
  const leaked = tf.memory().numTensors - before;
  tf.dispose(Object.values(p.weights));
  return { shapes, leaked };
}

describe('unet', () => {
  before(async () => {
    await selectBackend('cpu');
  });

  for (const size of [16, 32]) {
    for (const attention of [false, true]) {
      it(`maps [B,${size},${size},1] to ε of the same shape${attention ? ' with attention' : ''}`, () => {
        const { shapes, leaked } = run({ ...tiny, size, attention }, 3);
        expect(shapes.eps).to.deep.equal([3, size, size, 1]);
        // Layer 4: the first up block, at a quarter of the resolution, widths[1] channels.
        expect(shapes.layer4).to.deep.equal([3, size / 4, size / 4, 8]);
        expect(leaked).to.equal(0);
      });
    }
  }

  it('returns no layer 4 unless asked', () => {
    const p = createUnet({ ...tiny }, 1);
    tf.tidy(() => {
      const out = unetApply(p, tf.zeros([1, 16, 16, 1]), tf.zeros([1]), tf.zeros([1, 2]));
      expect(out.layer4).to.equal(undefined);
    });
    tf.dispose(Object.values(p.weights));
  });

  it('captures layer 4 before the first up block adds its conditioning', () => {
    // Changing only up1's conditioning projection must change ε but not layer 4.
    const p = createUnet({ ...tiny }, 3);
    const x = tf.randomNormal([2, 16, 16, 1], 0, 1, 'float32', 4) as tf.Tensor4D;
    const t = tf.tensor1d([50, 10]);
    const labels = tf.tensor2d([2, 3, 12, 9], [2, 2]);
    const once = (): [Float32Array, Float32Array] => {
      const out = unetApply(p, x, t, labels, { capture: true });
      const res: [Float32Array, Float32Array] = [
        out.layer4?.dataSync() as Float32Array,
        out.eps.dataSync() as Float32Array,
      ];
      tf.dispose([out.eps, out.layer4 as tf.Tensor]);
      return res;
    };
    const [l4a, epsA] = once();
    tf.tidy(() => {
      p.weights['up1.emb.w'].assign(tf.randomNormal(p.weights['up1.emb.w'].shape));
      p.weights['up1.emb.b'].assign(tf.onesLike(p.weights['up1.emb.b']));
    });
    const [l4b, epsB] = once();
    tf.dispose([x, t, labels, ...Object.values(p.weights)]);
    expect(Array.from(l4b)).to.deep.equal(Array.from(l4a));
    expect(Array.from(epsB)).not.to.deep.equal(Array.from(epsA));
  });

  it('encodes x and y distinguishably at sub-pixel resolution', () => {
    const c = resolveUnetConfig({ size: 16, encDim: 32 });
    const e = tf.tidy(() =>
      encodeConditions(c, tf.tensor1d([10, 10]), tf.tensor2d([5, 7, 5.1, 7], [2, 2])).arraySync(),
    );
    const d = e[0].map((v, i) => (v - e[1][i]) ** 2).reduce((a, b) => a + b, 0);
    expect(Math.sqrt(d)).to.be.greaterThan(0.2);
    expect(e[0].slice(0, 16)).to.deep.equal(e[1].slice(0, 16)); // same t
  });

  it('counts parameters', () => {
    const c = resolveUnetConfig();
    expect(c.widths).to.deep.equal([16, 32, 64]);
    expect(unetParamCount(c)).to.be.greaterThan(100_000);
  });

  it('rejects bad config fields with one-line errors naming the field', () => {
    expect(() => resolveUnetConfig({ size: 20 })).to.throw(/^unet\.size must be a multiple of 8/);
    expect(() =>
      resolveUnetConfig({ widths: [4, 8] as unknown as [number, number, number] }),
    ).to.throw(/^unet\.widths must be 3 positive integers \(got \[4,8\]\)$/);
    expect(() => resolveUnetConfig({ groups: 0 })).to.throw(/^unet\.groups/);
    expect(() => resolveUnetConfig({ encDim: 7 })).to.throw(/^unet\.encDim/);
    expect(() => resolveUnetConfig({ attention: 'yes' as unknown as boolean })).to.throw(
      /^unet\.attention/,
    );
  });
});
