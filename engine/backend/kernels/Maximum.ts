import * as tf from '@tensorflow/tfjs';
import { binaryKernel } from './binary.js';

export const maximumConfig = binaryKernel(tf.Maximum);
