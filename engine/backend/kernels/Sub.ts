import * as tf from '@tensorflow/tfjs';
import { binaryKernel } from './binary.js';

export const subConfig = binaryKernel(tf.Sub);
