import * as tf from '@tensorflow/tfjs';
import { reduceKernel } from './reduce.js';

export const maxConfig = reduceKernel<tf.MaxAttrs>(tf.Max, (attrs) => attrs.reductionIndices);
