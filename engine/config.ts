import type { Rect } from '../streams/events.js';

/** Everything that defines a run of the bump experiment; stored in meta.json. */
export interface ExperimentConfig {
  steps: number;
  snapshotEvery: number;
  samples: number;
  size: number;
  dx: number;
  dy: number;
  sigma: number;
  hole?: Rect;
  seed: number;
  backend: string;
  widths: number[];
  attention: boolean;
  /** Hidden width of the conditioning MLP shared by all blocks; 0 projects the encodings per block. */
  condHidden: number;
  batchSize: number;
  lr: number;
  emaDecay: number;
  timesteps: number;
  ddimSteps: number;
  embed: 'umap' | 'pca';
  confirm: number;
  runId?: string;
}

/** The default experiment (`npm start`): sized to show A → B → C on a 2-core CPU. */
export const DEFAULT_CONFIG: ExperimentConfig = {
  steps: 3000,
  snapshotEvery: 200,
  samples: 200,
  size: 16,
  dx: 0.5,
  dy: 0.5,
  sigma: 1,
  seed: 1,
  backend: 'auto',
  widths: [16, 32, 64],
  attention: false,
  condHidden: 64,
  batchSize: 64,
  lr: 1e-3,
  emaDecay: 0.99,
  timesteps: 100,
  ddimSteps: 20,
  embed: 'umap',
  confirm: 2,
};

type Check = (v: unknown) => string | null;

const int =
  (min: number, max = Number.MAX_SAFE_INTEGER): Check =>
  (v) =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max
      ? null
      : `an integer from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}`;

const num =
  (min: number, max: number, minOpen = false): Check =>
  (v) =>
    typeof v === 'number' && Number.isFinite(v) && (minOpen ? v > min : v >= min) && v <= max
      ? null
      : `a number ${minOpen ? '>' : '>='} ${min} and <= ${max}`;

const oneOf =
  (...values: string[]): Check =>
  (v) =>
    typeof v === 'string' && values.includes(v) ? null : `one of ${values.join(', ')}`;

const CHECKS: Record<keyof ExperimentConfig, Check> = {
  steps: int(1),
  snapshotEvery: int(1),
  samples: int(10, 5000),
  size: int(8, 256),
  dx: num(0, 1e9, true),
  dy: num(0, 1e9, true),
  sigma: num(0, 1e9, true),
  hole: (v) =>
    v === undefined ||
    (typeof v === 'object' &&
      v !== null &&
      ['x0', 'y0', 'x1', 'y1'].every((k) => typeof (v as Record<string, unknown>)[k] === 'number'))
      ? null
      : 'an object { x0, y0, x1, y1 } in pixels',
  seed: int(0),
  backend: oneOf('auto', 'tensorflow-gpu', 'tensorflow', 'native', 'wasm', 'cpu'),
  widths: (v) =>
    Array.isArray(v) && v.length === 3 && v.every((w) => Number.isInteger(w) && w >= 4 && w <= 1024)
      ? null
      : 'three integers from 4 to 1024, e.g. 16,32,64',
  attention: (v) => (typeof v === 'boolean' ? null : 'true or false'),
  condHidden: int(0, 4096),
  batchSize: int(1, 4096),
  lr: num(0, 1, true),
  emaDecay: num(0, 1),
  timesteps: int(2, 10000),
  ddimSteps: int(1, 10000),
  embed: oneOf('umap', 'pca'),
  confirm: int(1, 100),
  runId: (v) =>
    v === undefined || (typeof v === 'string' && /^[\w.-]+$/.test(v))
      ? null
      : "letters, digits, '.', '_' or '-'",
};

/**
 * Fills defaults and checks every field; a bad field throws one line naming it and what
 * is accepted, e.g. `dx must be a number > 0 and <= 1000000000 (got -1)`.
 */
export function resolveConfig(partial: Partial<ExperimentConfig> = {}): ExperimentConfig {
  for (const key of Object.keys(partial)) {
    if (!(key in CHECKS)) {
      throw new Error(`unknown option "${key}"; accepted: ${Object.keys(CHECKS).join(', ')}`);
    }
  }
  const cfg: ExperimentConfig = { ...DEFAULT_CONFIG, ...partial };
  if (partial.dx !== undefined && partial.dy === undefined) cfg.dy = partial.dx;
  for (const [key, check] of Object.entries(CHECKS) as [keyof ExperimentConfig, Check][]) {
    const problem = check(cfg[key]);
    if (problem) throw new Error(`${key} must be ${problem} (got ${JSON.stringify(cfg[key])})`);
  }
  if (cfg.dx > cfg.size - 1 || cfg.dy > cfg.size - 1) {
    throw new Error(`dx and dy must be <= size - 1 = ${cfg.size - 1} (got ${cfg.dx}, ${cfg.dy})`);
  }
  if (cfg.size % 8 !== 0) {
    throw new Error(`size must be a multiple of 8 for the 3-level UNet (got ${cfg.size})`);
  }
  if (cfg.ddimSteps > cfg.timesteps) {
    throw new Error(`ddimSteps must be <= timesteps = ${cfg.timesteps} (got ${cfg.ddimSteps})`);
  }
  return cfg;
}
