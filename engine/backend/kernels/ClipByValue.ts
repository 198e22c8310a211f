import * as tf from '@tensorflow/tfjs';
import { unaryKernel } from './unary.js';

export const clipByValueConfig = unaryKernel<tf.ClipByValueAttrs>(tf.ClipByValue, (attrs) => [
  attrs.clipValueMin,
  attrs.clipValueMax,
]);
