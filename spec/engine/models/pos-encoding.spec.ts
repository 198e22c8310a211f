import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { resolveConfig } from '../../../engine/experiment/config.js';
import { encodeConditions, resolveUnetConfig } from '../../../engine/models/unet.js';

/** The transformer's PE(p, 2k) = sin(p / 10000^(2k/d)), PE(p, 2k+1) = cos(…), for k < d/2. */
function transformer(p: number, d: number): { sin: number[]; cos: number[] } {
  const sin: number[] = [];
  const cos: number[] = [];
  for (let k = 0; k < d / 2; k++) {
    const angle = p / Math.pow(10000, (2 * k) / d);
    sin.push(Math.sin(angle));
    cos.push(Math.cos(angle));
  }
  return { sin, cos };
}

describe('encodeConditions posEncoding', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  it('standard: t, x and y each follow the transformer formula on the raw value', () => {
    const d = 16;
    const c = resolveUnetConfig({ size: 16, encDim: d, posEncoding: 'standard' });
    const rows = [
      [37, 3.5, 11.25],
      [0, 0, 15],
    ];
    const out = tf.tidy(() =>
      encodeConditions(
        c,
        tf.tensor1d(rows.map((r) => r[0])),
        tf.tensor2d(rows.map((r) => [r[1], r[2]])),
      ).arraySync(),
    );
    rows.forEach((r, i) => {
      expect(out[i]).to.have.length(3 * d);
      r.forEach((v, part) => {
        const { sin, cos } = transformer(v, d);
        const got = out[i].slice(part * d, (part + 1) * d);
        [...sin, ...cos].forEach((want, j) => expect(got[j]).to.be.closeTo(want, 1e-5));
      });
    });
  });

  it('fine (the default) differs from standard for x and y, not for t', () => {
    const t = [5];
    const xy = [[4.5, 9]];
    const enc = (posEncoding: 'fine' | 'standard'): number[] =>
      tf.tidy(
        () =>
          encodeConditions(
            resolveUnetConfig({ size: 16, encDim: 8, posEncoding }),
            tf.tensor1d(t),
            tf.tensor2d(xy),
          ).arraySync()[0],
      );
    const fine = enc('fine');
    const standard = enc('standard');
    expect(fine.slice(0, 8)).to.deep.equal(standard.slice(0, 8));
    expect(fine.slice(8)).not.to.deep.equal(standard.slice(8));
    expect(resolveUnetConfig().posEncoding).to.equal('fine');
  });

  it('rejects an unknown encoding in one line naming the field, and the config flag checks it too', () => {
    expect(() => resolveUnetConfig({ posEncoding: 'wide' as unknown as 'fine' })).to.throw(
      /^unet\.posEncoding must be one of fine, standard \(got "wide"\)$/,
    );
    expect(resolveConfig({ posEncoding: 'standard' }).posEncoding).to.equal('standard');
    // The default experiment (the phase-B reference model) encodes x and y as t; classic, fine.
    expect(resolveConfig().posEncoding).to.equal('standard');
    expect(resolveConfig({ preset: 'classic' }).posEncoding).to.equal('fine');
    expect(() => resolveConfig({ posEncoding: 'x' as unknown as 'fine' })).to.throw(
      /^posEncoding must be one of fine, standard \(got "x"\)$/,
    );
  });
});
