import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { selectBackend } from '../../../engine/backend/backend.js';
import { checkConfig, unetSettings } from '../../../engine/experiment/config.js';
import {
  createUnet,
  resolveUnetConfig,
  unetApply,
  unetParamCount,
  unetShapes,
} from '../../../engine/models/unet.js';
import type { UnetConfig, UnetParams } from '../../../engine/models/unet.js';

/** Written by spec/fixtures/phase-b/export_reference.py from the PyTorch reference UNet. */
interface Fixture {
  torch: string;
  config: { size: number; widths: [number, number, number]; encDim: number; condHidden: number };
  params: number;
  fullParams: number;
  weights: Record<string, { shape: number[]; values: number[] }>;
  input: { x: number[]; t: number[]; labels: number[] };
  eps: number[];
  up1pre: { shape: number[]; values: number[] };
  torchInit: Record<string, { std: number; max: number; n: number }>;
}

const fixture = JSON.parse(
  readFileSync(new URL('../../fixtures/phase-b/reference-unet.json', import.meta.url), 'utf8'),
) as Fixture;

/** The reference's architecture as phasewatch settings: the `phase-b` preset's UNet part. */
function referenceUnet(partial: Partial<UnetConfig> = {}): UnetConfig {
  const cfg = checkConfig({ preset: 'phase-b' });
  return resolveUnetConfig({
    size: cfg.size,
    widths: cfg.widths as [number, number, number],
    condHidden: cfg.condHidden,
    posEncoding: cfg.posEncoding,
    ...unetSettings(cfg),
    ...partial,
  });
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).to.equal(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('phase-b preset: the PyTorch reference UNet', () => {
  for (const backend of ['cpu', 'native'] as const) {
    describe(`on ${backend}`, () => {
      before(async () => {
        await selectBackend(backend);
      });

      it('gives the reference output for the reference weights (within 1e-4)', () => {
        const config = referenceUnet(fixture.config);
        const shapes = unetShapes(config);
        // Every weight of the port has its counterpart in the reference and no more.
        expect(shapes.map(([n]) => n).sort()).to.deep.equal(Object.keys(fixture.weights).sort());
        const weights: Record<string, tf.Tensor> = {};
        for (const [name, shape] of shapes) {
          const w = fixture.weights[name];
          expect(w.shape, name).to.deep.equal(shape);
          weights[name] = tf.tensor(w.values, shape);
        }
        const params: UnetParams = { config, weights };
        expect(unetParamCount(config)).to.equal(fixture.params);
        const n = fixture.input.t.length;
        const S = config.size;
        const [eps, layer4] = tf.tidy(() => {
          const out = unetApply(
            params,
            tf.tensor4d(fixture.input.x, [n, S, S, 1]),
            tf.tensor1d(fixture.input.t),
            tf.tensor2d(fixture.input.labels, [n, 2]),
            { capture: true },
          );
          return [out.eps.dataSync(), (out.layer4 as tf.Tensor4D).dataSync()];
        });
        tf.dispose(Object.values(weights));
        expect(maxAbsDiff(eps, fixture.eps)).to.be.lessThan(1e-4);
        // phasewatch's layer 4 is the reference's `up1pre` (before up1's conditioning).
        expect(maxAbsDiff(layer4, fixture.up1pre.values)).to.be.lessThan(1e-4);
      });
    });
  }

  it("has the reference's 400,289 parameters at full size", () => {
    expect(unetParamCount(referenceUnet())).to.equal(fixture.fullParams);
    expect(fixture.fullParams).to.equal(400_289);
  });

  it('initialises like PyTorch: U(±1/√fan_in) for weights and biases, GroupNorm at 1 and 0', async () => {
    await selectBackend('cpu');
    const p = createUnet(referenceUnet(), 3);
    try {
      for (const [name, ref] of Object.entries(fixture.torchInit)) {
        const v = p.weights[name].dataSync();
        let s = 0;
        let s2 = 0;
        let max = 0;
        for (const x of v) {
          s += x;
          s2 += x * x;
          max = Math.max(max, Math.abs(x));
        }
        const mean = s / v.length;
        const std = Math.sqrt(s2 / v.length - mean * mean);
        if (ref.n < 200) continue;
        // Same bound (the largest draw of a big tensor comes within ~1 % of it) and the same
        // spread as PyTorch's draw, up to sampling error.
        expect(max / ref.max, name).to.be.within(0.97, 1.03);
        expect(std / ref.std, name).to.be.within(0.9, 1.1);
      }
      for (const [name] of unetShapes(p.config).filter(([n]) => n.includes('.gn'))) {
        const want = name.endsWith('.g') ? 1 : 0;
        expect(Array.from(p.weights[name].dataSync()).every((x) => x === want)).to.equal(true);
      }
    } finally {
      tf.dispose(Object.values(p.weights));
    }
  });

  it('initialises he and glorot by their formulas', async () => {
    await selectBackend('cpu');
    const stdOf = (v: Float32Array): number => {
      const m = v.reduce((a, b) => a + b, 0) / v.length;
      return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length);
    };
    for (const init of ['he', 'glorot'] as const) {
      const p = createUnet(referenceUnet({ init }), 5);
      try {
        // down2.conv1: 3×3, 32 → 64: fan_in 288, fan_out 576.
        const std = stdOf(p.weights['down2.conv1.w'].dataSync() as Float32Array);
        const want = init === 'he' ? Math.sqrt(2 / 288) : Math.sqrt(6 / (288 + 576)) / Math.sqrt(3);
        expect(std / want, init).to.be.within(0.97, 1.03);
        expect(Array.from(p.weights['down2.emb.b'].dataSync()).every((x) => x === 0)).to.equal(
          true,
        );
      } finally {
        tf.dispose(Object.values(p.weights));
      }
    }
  });

  it('is the default experiment; classic is the UNet before it', () => {
    expect({ ...checkConfig({}), preset: 'phase-b' }).to.deep.equal(
      checkConfig({ preset: 'phase-b' }),
    );
    const classic = checkConfig({ preset: 'classic' });
    expect(classic).to.include({ init: 'he', pool: 'avg', upsample: 'nearest', groups: 8 });
    expect(classic).to.include({ emaDecay: 0.99, labelMargin: 0, posEncoding: 'fine' });
  });

  it('lays labels on the reference grid: 529 centres from 2 to 13 px at dx 0.5', () => {
    const cfg = checkConfig({ preset: 'phase-b' });
    expect(cfg.labelMargin).to.equal(2);
    expect(cfg.emaDecay).to.equal(0);
  });

  it('rejects a second conditioning layer without an MLP, naming the flag', () => {
    expect(() => checkConfig({ preset: 'phase-b', condHidden: 0 }, 'flag')).to.throw(
      /^--cond-layers 2 needs a conditioning MLP: --cond-hidden > 0 \(got 0\)$/,
    );
    expect(() => checkConfig({ labelMargin: 8 }, 'flag')).to.throw(/^--label-margin must be/);
    expect(() => resolveUnetConfig({ pool: 'min' as 'max' })).to.throw(
      /^unet\.pool must be one of avg, max \(got "min"\)$/,
    );
  });
});
