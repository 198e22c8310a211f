import * as tf from '@tensorflow/tfjs';
import { unaryKernel } from './unary.js';

export const tanhConfig = unaryKernel(tf.Tanh);
