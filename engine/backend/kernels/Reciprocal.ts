import * as tf from '@tensorflow/tfjs';
import { unaryKernel } from './unary.js';

export const reciprocalConfig = unaryKernel(tf.Reciprocal);
