import * as tf from '@tensorflow/tfjs';
import { reduceKernel } from './reduce.js';

export const meanConfig = reduceKernel<tf.MeanAttrs>(tf.Mean, (attrs) => attrs.axis);
