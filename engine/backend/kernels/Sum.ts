import * as tf from '@tensorflow/tfjs';
import { reduceKernel } from './reduce.js';

export const sumConfig = reduceKernel<tf.SumAttrs>(tf.Sum, (attrs) => attrs.axis);
