import * as tf from '@tensorflow/tfjs';
import { unaryKernel } from './unary.js';

export const sqrtConfig = unaryKernel(tf.Sqrt);
