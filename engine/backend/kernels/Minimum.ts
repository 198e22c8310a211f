import * as tf from '@tensorflow/tfjs';
import { binaryKernel } from './binary.js';

export const minimumConfig = binaryKernel(tf.Minimum);
