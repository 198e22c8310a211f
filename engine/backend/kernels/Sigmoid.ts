import * as tf from '@tensorflow/tfjs';
import { unaryKernel } from './unary.js';

export const sigmoidConfig = unaryKernel(tf.Sigmoid);
