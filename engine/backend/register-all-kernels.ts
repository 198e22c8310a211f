import { absConfig } from './kernels/Abs.js';
import { addConfig } from './kernels/Add.js';
import { attentionConfig } from './kernels/Attention.js';
import { attentionGradConfig } from './kernels/AttentionGrad.js';
import { avgPoolConfig } from './kernels/AvgPool.js';
import { avgPoolGradConfig } from './kernels/AvgPoolGrad.js';
import { batchMatMulConfig } from './kernels/BatchMatMul.js';
import { clipByValueConfig } from './kernels/ClipByValue.js';
import { concatConfig } from './kernels/Concat.js';
import { conv2DConfig } from './kernels/Conv2D.js';
import { conv2DBackpropFilterConfig } from './kernels/Conv2DBackpropFilter.js';
import { conv2DBackpropInputConfig } from './kernels/Conv2DBackpropInput.js';
import { convBlockConfig } from './kernels/ConvBlock.js';
import { convBlockGradConfig } from './kernels/ConvBlockGrad.js';
import { erfConfig } from './kernels/Erf.js';
import { expConfig } from './kernels/Exp.js';
import { geluConfig } from './kernels/Gelu.js';
import { geluGradConfig } from './kernels/GeluGrad.js';
import { groupNormConfig } from './kernels/GroupNorm.js';
import { groupNormGradConfig } from './kernels/GroupNormGrad.js';
import { logConfig } from './kernels/Log.js';
import { maxPoolConfig } from './kernels/MaxPool.js';
import { maxPoolGradConfig } from './kernels/MaxPoolGrad.js';
import { maxConfig } from './kernels/Max.js';
import { maximumConfig } from './kernels/Maximum.js';
import { meanConfig } from './kernels/Mean.js';
import { minConfig } from './kernels/Min.js';
import { minimumConfig } from './kernels/Minimum.js';
import { multiplyConfig } from './kernels/Multiply.js';
import { negConfig } from './kernels/Neg.js';
import { realDivConfig } from './kernels/RealDiv.js';
import { reciprocalConfig } from './kernels/Reciprocal.js';
import { reluConfig } from './kernels/Relu.js';
import { resizeBilinearConfig } from './kernels/ResizeBilinear.js';
import { resizeBilinearGradConfig } from './kernels/ResizeBilinearGrad.js';
import { resizeNearestNeighborConfig } from './kernels/ResizeNearestNeighbor.js';
import { resizeNearestNeighborGradConfig } from './kernels/ResizeNearestNeighborGrad.js';
import { rsqrtConfig } from './kernels/Rsqrt.js';
import { sigmoidConfig } from './kernels/Sigmoid.js';
import { sliceConfig } from './kernels/Slice.js';
import { softmaxConfig } from './kernels/Softmax.js';
import { splitVConfig } from './kernels/SplitV.js';
import { sqrtConfig } from './kernels/Sqrt.js';
import { squareConfig } from './kernels/Square.js';
import { squaredDifferenceConfig } from './kernels/SquaredDifference.js';
import { subConfig } from './kernels/Sub.js';
import { sumConfig } from './kernels/Sum.js';
import { tanhConfig } from './kernels/Tanh.js';
import type { NativeKernelConfig } from './kernels/shared.js';

/**
 * Every kernel the 'native' backend runs in C++ (one a file under kernels/), as
 * tfjs-backend-cpu lists its kernels in register_all_kernels.ts. The backend's other kernels
 * are the cpu backend's; a native kernel hands inputs it does not handle to the cpu one.
 */
export const nativeKernelConfigs: readonly NativeKernelConfig[] = [
  absConfig,
  addConfig,
  attentionConfig,
  attentionGradConfig,
  avgPoolConfig,
  avgPoolGradConfig,
  batchMatMulConfig,
  clipByValueConfig,
  concatConfig,
  conv2DConfig,
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  convBlockConfig,
  convBlockGradConfig,
  erfConfig,
  expConfig,
  geluConfig,
  geluGradConfig,
  groupNormConfig,
  groupNormGradConfig,
  logConfig,
  maxConfig,
  maxPoolConfig,
  maxPoolGradConfig,
  maximumConfig,
  meanConfig,
  minConfig,
  minimumConfig,
  multiplyConfig,
  negConfig,
  realDivConfig,
  reciprocalConfig,
  reluConfig,
  resizeBilinearConfig,
  resizeBilinearGradConfig,
  resizeNearestNeighborConfig,
  resizeNearestNeighborGradConfig,
  rsqrtConfig,
  sigmoidConfig,
  sliceConfig,
  softmaxConfig,
  splitVConfig,
  sqrtConfig,
  squareConfig,
  squaredDifferenceConfig,
  subConfig,
  sumConfig,
  tanhConfig,
];
