import * as tf from '@tensorflow/tfjs';
import { reduceKernel } from './reduce.js';

export const minConfig = reduceKernel<tf.MinAttrs>(tf.Min, (attrs) => attrs.axis);
