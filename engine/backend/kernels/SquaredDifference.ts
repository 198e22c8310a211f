import * as tf from '@tensorflow/tfjs';
import { binaryKernel } from './binary.js';

export const squaredDifferenceConfig = binaryKernel(tf.SquaredDifference);
