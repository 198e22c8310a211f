import * as tf from '@tensorflow/tfjs';
import { unaryKernel } from './unary.js';

export const absConfig = unaryKernel(tf.Abs);
