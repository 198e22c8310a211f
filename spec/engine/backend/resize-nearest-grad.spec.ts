import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { selectBackend } from '../../../engine/backend/backend.js';
import { nearestSourceMap } from '../../../engine/backend/resize-nearest-grad.js';

describe('resize-nearest-grad', () => {
  let previous: string | undefined;
  before(async () => {
    previous = tf.getBackend();
    await selectBackend('cpu');
  });
  after(async () => {
    if (previous) await tf.setBackend(previous);
  });

  it('maps output indices to the source index tfjs copies', () => {
    expect(Array.from(nearestSourceMap(2, 4, false, false))).to.deep.equal([0, 0, 1, 1]);
    expect(Array.from(nearestSourceMap(3, 5, true, false))).to.deep.equal([0, 1, 1, 2, 2]);
  });

  it('gives the exact adjoint of 2× upsampling on cpu for a batch of 3', () => {
    const before = tf.memory().numTensors;
    const diff = tf.tidy(() => {
      const x = tf.randomNormal([3, 4, 4, 2], 0, 1, 'float32', 1);
      const dy = tf.randomNormal([3, 8, 8, 2], 0, 1, 'float32', 2);
      const g = tf.grad((t: tf.Tensor) =>
        tf.sum(tf.mul(tf.image.resizeNearestNeighbor(t as tf.Tensor4D, [8, 8]), dy)),
      )(x);
      const exact = tf.sum(tf.reshape(dy, [3, 4, 2, 4, 2, 2]), [2, 4]);
      return tf.max(tf.abs(tf.sub(g, exact))).dataSync()[0];
    });
    expect(diff).to.be.below(1e-5);
    expect(tf.memory().numTensors).to.equal(before);
  });
});
