import * as tf from '@tensorflow/tfjs';
import { binaryKernel } from './binary.js';

export const multiplyConfig = binaryKernel(tf.Multiply);
