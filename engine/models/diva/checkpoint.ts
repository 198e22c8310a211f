import * as tf from '@tensorflow/tfjs';
import {
  readCheckpoint,
  restoreOptimizer,
  restoreTrainingTensors,
  writeTrainingCheckpoint,
} from '../checkpoint.js';
import { unetShapes } from '../unet.js';
import { divaShapeKey, resolveDivaConfig } from './config.js';
import type { DivaConfig } from './config.js';
import { UNET_PREFIX } from './network.js';
import type { DivaWeights } from './network.js';
import { divaEncoderOptimizer, divaOptimizer } from './train-step.js';
import type { DivaTraining } from './train-step.js';

const FORMAT = 'phasewatch-diva';

/**
 * Writes weights, EMA and both optimisers' state (`weights.bin`: `param`, `ema`, `adam`,
 * `adam-enc` tensors) and `model.json` (format `phasewatch-diva` v1, config, step).
 */
export async function saveDiva(dir: string, m: DivaTraining): Promise<void> {
  await writeTrainingCheckpoint(
    dir,
    { format: FORMAT, version: 1, config: m.config, step: m.step },
    {
      names: m.weights.names,
      params: m.weights.params,
      ema: m.ema,
      optimizers: { adam: m.optimizer, 'adam-enc': m.encOptimizer },
    },
  );
}

/**
 * Restores what `saveDiva` wrote into `m` (weights, EMA; fresh optimisers in place of its own,
 * holding the stored state) and returns the stored step. The directory's config must describe
 * the same networks.
 */
export async function loadDiva(
  dir: string,
  m: Pick<DivaTraining, 'config' | 'weights' | 'ema' | 'optimizer' | 'encOptimizer'>,
): Promise<{
  step: number;
  optimizer: DivaTraining['optimizer'];
  encOptimizer: DivaTraining['encOptimizer'];
}> {
  const { manifest, values } = await readCheckpoint(dir, [FORMAT]);
  const theirs = resolveDivaConfig(manifest.config as Partial<DivaConfig>);
  if (divaShapeKey(theirs) !== divaShapeKey(m.config)) {
    throw new Error(`model in ${dir} has a different architecture than this DiVA`);
  }
  const saved = restoreTrainingTensors(
    dir,
    manifest.tensors,
    values,
    { params: m.weights.params, ema: m.ema },
    ['adam', 'adam-enc'],
  );
  const optimizer = await restoreOptimizer(m.optimizer, () => divaOptimizer(m.config), saved.adam);
  const encOptimizer = await restoreOptimizer(
    m.encOptimizer,
    () => divaEncoderOptimizer(m.config),
    saved['adam-enc'],
  );
  return { step: Number(manifest.step) || 0, optimizer, encOptimizer };
}

/**
 * Loads only the denoiser from a checkpoint — a DiVA's, or a UNet DDPM's with the same UNet
 * shape — taking its EMA weights as both weights and EMA (the pre-trained denoiser of the
 * seed's frozen variant).
 */
export async function loadDivaDenoiser(
  dir: string,
  weights: DivaWeights,
  ema: Record<string, tf.Variable>,
): Promise<void> {
  const { manifest, values } = await readCheckpoint(dir, [FORMAT, 'phasewatch-ddpm']);
  const prefix = manifest.format === FORMAT ? UNET_PREFIX : '';
  const wanted = new Map(unetShapes(weights.unet.config).map(([n, s]) => [n, s]));
  const group = manifest.tensors.some((t) => t.group === 'ema') ? 'ema' : 'param';
  let found = 0;
  for (const t of manifest.tensors) {
    if (t.group !== group || !t.name.startsWith(prefix)) continue;
    const name = t.name.slice(prefix.length);
    const shape = wanted.get(name);
    if (!shape) continue;
    if (JSON.stringify(shape) !== JSON.stringify(t.shape)) {
      throw new Error(
        `denoiser in ${dir}: ${name} has shape [${t.shape.join(', ')}], this DiVA needs [${shape.join(', ')}]`,
      );
    }
    tf.tidy(() => {
      const v = tf.tensor(values(t), t.shape);
      weights.unet.weights[name].assign(v);
      ema[UNET_PREFIX + name].assign(v);
    });
    found++;
  }
  if (found !== wanted.size) {
    throw new Error(
      `denoiser in ${dir} holds ${found} of the ${wanted.size} UNet weights this DiVA needs`,
    );
  }
}
