import { DERIVED_CONFIG_KEYS } from '../../common/config-values.js';
import { z } from 'zod';
import type { Rect } from '../../streams/events.js';
import type { BackendName } from '../backend/backend.js';
import type {
  AttentionAt,
  InitKind,
  PoolKind,
  StemKind,
  UpMid,
  UpsampleKind,
} from '../models/unet.js';

/**
 * Everything that defines a run of the bump experiment; stored in meta.json. Defined once, by
 * {@link CONFIG_FIELDS}: defaults, accepted ranges, CLI flags, `--help` and the README table
 * all come from there.
 */
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
  /** A named group of settings applied under the explicit ones (see {@link CONFIG_PRESETS}). */
  preset: ConfigPreset;
  widths: number[];
  attention: boolean;
  /** Where the attention layers go: after the lowest block, after every block, or all but the last. */
  attentionAt: AttentionAt;
  /** Hidden width of the conditioning MLP shared by all blocks; 0 projects the encodings per block. */
  condHidden: number;
  /** x/y encoding: `fine` (2 px to 4× size wavelengths) or `standard` (transformer, period 10,000). */
  posEncoding: 'fine' | 'standard';
  /** GroupNorm groups of every block (a block with indivisible channels uses the largest divisor). */
  groups: number;
  /** Down-sampling: 2×2 average or max pooling. */
  pool: PoolKind;
  /** Up-sampling: nearest or bilinear (aligned corners). */
  upsample: UpsampleKind;
  /** A residual, unconditioned block between the down and up paths. */
  bottleneck: boolean;
  /** Initial weights: he (He-normal), torch (PyTorch's default) or glorot (Glorot-uniform). */
  init: InitKind;
  /** Linear+GELU layers of the shared conditioning MLP (1 or 2). */
  condLayers: number;
  /** The full-resolution stem: one 3×3 convolution, or a double-conv block. */
  stem: StemKind;
  /** Middle width of the up blocks: their output's, or their skip connection's. */
  upMid: UpMid;
  /** Distance in pixels of the outermost bump centres from the image edge. */
  labelMargin: number;
  batchSize: number;
  lr: number;
  emaDecay: number;
  timesteps: number;
  ddimSteps: number;
  embed: 'umap' | 'pca';
  confirm: number;
  runId?: string;
  /** A short human name for the run (shown in the runs table). */
  name?: string;
  /** Labels to find and filter runs by. */
  tags?: string[];
  /** Free text: what the run is for, what was changed. */
  notes?: string;
}

/** How a field is typed on the command line. */
export type ConfigFieldKind =
  'integer' | 'number' | 'string' | 'boolean' | 'list' | 'tags' | 'rect';

/** One config field: its validation, default, what it accepts in words, and its CLI flag. */
export interface ConfigField<S extends z.ZodTypeAny = z.ZodTypeAny> {
  schema: S;
  default: z.infer<S> | undefined;
  /** What is accepted, in words: `an integer from 1 to 1000000000`. */
  accepted: string;
  description: string;
  kind: ConfigFieldKind;
  /** `--flag` name without dashes; null when the field cannot be set from the command line. */
  flag: string | null;
  /** The value's placeholder in `--help`: `N`, `X`, `a,b,c`. */
  arg: string;
}

/** Writes a value as a user would type it: `Infinity`, `1e-6`, `"abc"`, `[1,2]`. */
export function formatConfigValue(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return `[${v.map(formatConfigValue).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const entries = Object.entries(v as Record<string, unknown>);
    return `{${entries.map(([k, x]) => `${k}:${formatConfigValue(x)}`).join(',')}}`;
  }
  if (v === null) return 'null';
  return typeof v === 'boolean' || typeof v === 'bigint' ? String(v) : typeof v;
}

type Spec = Omit<ConfigField, 'schema' | 'default' | 'flag' | 'arg' | 'description'>;

function int(min: number, max: number, step = 1): Spec & { schema: z.ZodNumber } {
  let schema = z.number().int().min(min).max(max);
  if (step > 1) schema = schema.multipleOf(step);
  const what = step > 1 ? `a multiple of ${step}` : 'an integer';
  return { schema, kind: 'integer', accepted: `${what} from ${min} to ${max}` };
}

function num(
  min: number,
  max: number,
  open: { min?: boolean; max?: boolean } = {},
): Spec & { schema: z.ZodNumber } {
  let schema = z.number().finite();
  schema = open.min ? schema.gt(min) : schema.gte(min);
  schema = open.max ? schema.lt(max) : schema.lte(max);
  const accepted = `a number ${open.min ? '>' : '>='} ${min} and ${open.max ? '<' : '<='} ${max}`;
  return { schema, kind: 'number', accepted };
}

function oneOf<T extends string>(
  values: readonly [T, ...T[]],
): Spec & { schema: z.ZodEnum<[T, ...T[]]> } {
  return {
    schema: z.enum(values as [T, ...T[]]),
    kind: 'string',
    accepted: `one of ${values.join(', ')}`,
  };
}

function field<S extends z.ZodTypeAny>(
  spec: Spec & { schema: S },
  def: z.infer<S> | undefined,
  description: string,
  cli: { flag?: string | null; arg?: string } = {},
): ConfigField<S> {
  return {
    ...spec,
    default: def,
    description,
    flag: cli.flag === undefined ? null : cli.flag,
    arg: cli.arg ?? (spec.kind === 'integer' ? 'N' : spec.kind === 'number' ? 'X' : 'VALUE'),
  };
}

const widthSchema = z.number().int().min(4).max(1024);
const finite = z.number().finite();
const ID = /^\w[\w.-]*$/;
const TAG = /^[^,\s](?:[^,\n]*[^,\s])?$/;

const BACKEND_NAMES = [
  'auto',
  'tensorflow-gpu',
  'tensorflow',
  'native',
  'wasm',
  'cpu',
] as const satisfies readonly BackendName[];

/** Training images held in memory at most: each is 8 bytes of labels, rendered on demand. */
export const MAX_DATASET_IMAGES = 10_000_000;

/** Steps of one run at most (about a year at 1 ms a step). */
export const MAX_STEPS = 1_000_000_000;

/** The experiment's config, field by field. Order is the order of `--help` and the README. */
// Written out (not imported) so the config stays free of tfjs; `satisfies` keeps them in step.
const ATTENTION_AT = [
  'bottom',
  'interlaced',
  'interlaced-half',
] as const satisfies readonly AttentionAt[];

const POOLS = ['avg', 'max'] as const satisfies readonly PoolKind[];
const UPSAMPLES = ['nearest', 'bilinear'] as const satisfies readonly UpsampleKind[];
const INITS = ['he', 'torch', 'glorot'] as const satisfies readonly InitKind[];
const STEMS = ['conv', 'block'] as const satisfies readonly StemKind[];
const UP_MIDS = ['out', 'skip'] as const satisfies readonly UpMid[];

/** The names `preset` accepts. */
export const PRESET_NAMES = ['default', 'classic', 'seed', 'phase-b'] as const;
export type ConfigPreset = (typeof PRESET_NAMES)[number];

/**
 * The UNet of phasewatch's default experiment before it became the phase-B reference model
 * (2026-12-07): He-normal weights, a one-conv stem, a 1-layer conditioning MLP of 64 on the
 * `fine` x/y encoding, GroupNorm 8, average pooling, nearest up-sampling, no bottleneck, labels
 * to the image edge, sampling with the EMA weights (0.99). A stored config that lacks one of
 * these keys was made before the key existed, so `configFromMeta` reads it with this value.
 */
export const CLASSIC_SETTINGS = {
  posEncoding: 'fine',
  condHidden: 64,
  condLayers: 1,
  stem: 'conv',
  groups: 8,
  pool: 'avg',
  upsample: 'nearest',
  bottleneck: false,
  upMid: 'out',
  init: 'he',
  labelMargin: 0,
  emaDecay: 0.99,
} as const satisfies Partial<ExperimentConfig>;

/** The settings of the phase-B reference model: the defaults (see {@link CONFIG_PRESETS}). */
const PHASE_B_SETTINGS = {
  posEncoding: 'standard',
  condHidden: 128,
  condLayers: 2,
  stem: 'block',
  groups: 1,
  pool: 'max',
  upsample: 'bilinear',
  bottleneck: true,
  upMid: 'skip',
  init: 'torch',
  labelMargin: 2,
  emaDecay: 0,
} as const satisfies Partial<ExperimentConfig>;

/**
 * The settings each preset stands for; `checkConfig` lays them over the defaults and under the
 * settings given explicitly (the command line wins). The defaults are the phase-B reference
 * model (docs/phases.md, "The reference model"): standard encodings into a 2-layer
 * conditioning MLP of 128, a double-conv stem, GroupNorm with 1 group, max pooling, bilinear
 * up-sampling, a residual bottleneck, up blocks as wide as their skip in the middle, PyTorch's
 * default initialisation, centres 2 px from the edge, sampling with the raw weights (no EMA);
 * `phase-b` names those settings explicitly. `classic`: phasewatch's UNet before that
 * (`CLASSIC_SETTINGS`; it goes A → C). `seed`: the model seed 004 describes (its
 * appendix A.1) on the classic UNet: 32×32 images, self-attention interlaced after each of the
 * 3 down and 3 up blocks, and the standard sinusoidal encodings of t, x and y fed into every
 * block (projected per block, no shared MLP). What the seed's text leaves open (widths, heads)
 * stays ours.
 */
export const CONFIG_PRESETS: Record<ConfigPreset, Partial<Omit<ExperimentConfig, 'preset'>>> = {
  default: {},
  classic: { ...CLASSIC_SETTINGS },
  seed: {
    ...CLASSIC_SETTINGS,
    size: 32,
    attention: true,
    attentionAt: 'interlaced',
    posEncoding: 'standard',
    condHidden: 0,
  },
  'phase-b': { ...PHASE_B_SETTINGS },
};

export const CONFIG_FIELDS = {
  steps: field(int(1, MAX_STEPS), 3000, 'Training steps (optimiser updates) of the run.', {
    flag: 'steps',
  }),
  snapshotEvery: field(
    int(1, MAX_STEPS),
    200,
    'Sample a snapshot (and assess the phase) every this many steps.',
    { flag: 'snapshot-every' },
  ),
  samples: field(int(10, 5000), 200, 'Images sampled per snapshot.', { flag: 'samples' }),
  size: field(int(8, 256, 8), 16, 'Image side in pixels (the 3-level UNet halves it 3 times).', {
    flag: 'size',
  }),
  dx: field(
    num(0, 255, { min: true }),
    0.5,
    'Spacing of bump centres along x, in pixels; at most size - 1.',
    { flag: 'dx' },
  ),
  dy: field(
    num(0, 255, { min: true }),
    0.5,
    'Spacing of bump centres along y, in pixels; at most size - 1 (default: dx).',
    { flag: 'dy', arg: 'Y' },
  ),
  sigma: field(num(0, 256, { min: true }), 1, 'Bump spread (standard deviation) in pixels.', {
    flag: 'sigma',
    arg: 'S',
  }),
  hole: field(
    {
      schema: z
        .object({ x0: finite, y0: finite, x1: finite, y1: finite })
        .strict()
        .refine((r) => r.x0 <= r.x1 && r.y0 <= r.y1)
        .optional(),
      kind: 'rect',
      accepted: 'four numbers x0,y0,x1,y1 in pixels with x0 <= x1 and y0 <= y1',
    },
    undefined,
    'Bump centres inside this rectangle are left out of training (none by default).',
    { flag: 'hole', arg: 'x0,y0,x1,y1' },
  ),
  seed: field(int(0, 4294967295), 1, 'Seeds weights, batches, noise and the snapshot labels.', {
    flag: 'seed',
  }),
  backend: field(
    oneOf(BACKEND_NAMES),
    'auto',
    'tfjs backend; auto tries tensorflow-gpu, tensorflow, native, wasm, cpu in turn.',
    { flag: 'backend', arg: 'NAME' },
  ),
  preset: field(
    oneOf(PRESET_NAMES),
    'default',
    'Group of settings: classic = the UNet before phase B (A -> C); seed = seed 004 model on it (32 px, interlaced attention, standard encoding, no cond MLP); phase-b = the defaults; flags still win.',
    { flag: 'preset', arg: PRESET_NAMES.join('|') },
  ),
  widths: field(
    {
      schema: z.array(widthSchema).length(3),
      kind: 'list',
      accepted: 'three integers from 4 to 1024, e.g. 16,32,64',
    },
    [16, 32, 64],
    'UNet channel widths of its three levels.',
    { flag: 'widths', arg: 'a,b,c' },
  ),
  attention: field(
    { schema: z.boolean(), kind: 'boolean', accepted: 'true or false' },
    false,
    'Self-attention layers in the UNet (where: attentionAt).',
    { flag: 'attention', arg: '' },
  ),
  attentionAt: field(
    oneOf(ATTENTION_AT),
    'bottom',
    'Attention after the lowest block, after all six blocks (interlaced), or all but the full-size one.',
    { flag: 'attention-at', arg: ATTENTION_AT.join('|') },
  ),
  condHidden: field(
    int(0, 4096),
    PHASE_B_SETTINGS.condHidden,
    'Hidden width of the conditioning MLP shared by all blocks; 0 projects per block.',
    { flag: 'cond-hidden' },
  ),
  posEncoding: field(
    oneOf(['fine', 'standard'] as const),
    PHASE_B_SETTINGS.posEncoding,
    'Encoding of x and y: fine (wavelengths 2 px to 4x size) or standard (transformer sinusoid).',
    { flag: 'pos-encoding', arg: 'fine|standard' },
  ),
  groups: field(
    int(1, 64),
    PHASE_B_SETTINGS.groups,
    'GroupNorm groups (largest divisor of the channels up to this).',
    {
      flag: 'groups',
    },
  ),
  pool: field(
    oneOf(POOLS),
    PHASE_B_SETTINGS.pool,
    'UNet down-sampling: 2x2 average or max pooling.',
    {
      flag: 'pool',
      arg: POOLS.join('|'),
    },
  ),
  upsample: field(
    oneOf(UPSAMPLES),
    PHASE_B_SETTINGS.upsample,
    'UNet up-sampling: nearest, or bilinear with aligned corners.',
    { flag: 'upsample', arg: UPSAMPLES.join('|') },
  ),
  bottleneck: field(
    { schema: z.boolean(), kind: 'boolean', accepted: 'true or false' },
    PHASE_B_SETTINGS.bottleneck,
    'A residual, unconditioned double-conv block between the down and up paths.',
    { flag: 'bottleneck', arg: '' },
  ),
  init: field(
    oneOf(INITS),
    PHASE_B_SETTINGS.init,
    "Initial weights: he (He-normal, zero biases), torch (PyTorch's U(±1/√fan_in)), glorot.",
    { flag: 'init', arg: INITS.join('|') },
  ),
  condLayers: field(
    int(1, 2),
    PHASE_B_SETTINGS.condLayers,
    'Linear+GELU layers of the conditioning MLP (2 needs condHidden > 0).',
    { flag: 'cond-layers' },
  ),
  stem: field(
    oneOf(STEMS),
    PHASE_B_SETTINGS.stem,
    'Full-resolution stem: one 3x3 conv with bias, or a double-conv block.',
    { flag: 'stem', arg: STEMS.join('|') },
  ),
  upMid: field(
    oneOf(UP_MIDS),
    PHASE_B_SETTINGS.upMid,
    "Middle width of the up blocks: their output's, or their skip connection's.",
    { flag: 'up-mid', arg: UP_MIDS.join('|') },
  ),
  labelMargin: field(
    num(0, 127.5),
    PHASE_B_SETTINGS.labelMargin,
    'Bump centres run from this many pixels to size - 1 - this; at most (size - 1) / 2.',
    { flag: 'label-margin', arg: 'PX' },
  ),
  batchSize: field(int(1, 4096), 64, 'Training images per step.', { flag: 'batch-size' }),
  lr: field(num(0, 1, { min: true }), 1e-3, 'Adam learning rate.', { flag: 'lr' }),
  emaDecay: field(
    num(0, 1, { max: true }),
    PHASE_B_SETTINGS.emaDecay,
    'Decay of the moving average of the weights that samples; 0 samples with the raw weights.',
    { flag: 'ema-decay' },
  ),
  timesteps: field(int(2, 10000), 100, 'Diffusion steps T of the noise schedule.', {
    flag: 'timesteps',
  }),
  ddimSteps: field(int(1, 10000), 20, 'DDIM steps per snapshot sampling; at most timesteps.', {
    flag: 'ddim-steps',
  }),
  embed: field(oneOf(['umap', 'pca'] as const), 'umap', 'Embedding of the activations.', {
    flag: 'embed',
    arg: 'umap|pca',
  }),
  confirm: field(
    int(1, 100),
    2,
    'Consecutive snapshots that must agree before a phase is confirmed.',
    { flag: 'confirm' },
  ),
  runId: field(
    {
      schema: z.string().max(128).regex(ID).optional(),
      kind: 'string',
      accepted: "1 to 128 letters, digits, '.', '_' or '-', starting with a letter, digit or '_'",
    },
    undefined,
    'The run directory name under the runs dir (default: time-stamped).',
    { flag: 'run-id', arg: 'ID' },
  ),
  name: field(
    {
      schema: z
        .string()
        .min(1)
        .max(200)
        .regex(/^[^\n\r]*$/)
        .optional(),
      kind: 'string',
      accepted: 'one line of 1 to 200 characters',
    },
    undefined,
    'A human name for the run, shown in the runs table.',
    { flag: 'name', arg: 'TEXT' },
  ),
  tags: field(
    {
      schema: z.array(z.string().max(64).regex(TAG)).max(32).optional(),
      kind: 'tags',
      accepted: 'up to 32 comma-separated tags of 1 to 64 characters',
    },
    undefined,
    'Tags to find and filter runs by.',
    { flag: 'tags', arg: 'a,b' },
  ),
  notes: field(
    {
      schema: z.string().max(10000).optional(),
      kind: 'string',
      accepted: 'text of up to 10000 characters',
    },
    undefined,
    'Free notes on the run.',
    { flag: 'notes', arg: 'TEXT' },
  ),
};

type Fields = typeof CONFIG_FIELDS;
export type ConfigKey = keyof Fields;

/** The zod schema of a whole config: every key known, every field checked. */
export const configSchema = z
  .object(
    Object.fromEntries(Object.entries(CONFIG_FIELDS).map(([k, f]) => [k, f.schema])) as {
      [K in ConfigKey]: Fields[K]['schema'];
    },
  )
  .strict();

// The interface above and the schema describe the same object (checked at compile time).
type Parsed = z.infer<typeof configSchema>;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameShape: Same<Omit<Parsed, 'backend'>, Omit<ExperimentConfig, 'backend'>> = true;
void sameShape;
const everyPlacement: Same<(typeof ATTENTION_AT)[number], AttentionAt> = true;
void everyPlacement;

/** The default experiment (`npm start`): sized to show A → B → C on a 2-core CPU. */
export const DEFAULT_CONFIG: ExperimentConfig = Object.fromEntries(
  Object.entries(CONFIG_FIELDS)
    .filter(([, f]) => f.default !== undefined)
    .map(([k, f]) => [k, structuredClone(f.default)]),
) as unknown as ExperimentConfig;

export const CONFIG_KEYS = Object.keys(CONFIG_FIELDS) as ConfigKey[];

/** Edit distance, for "did you mean". */
function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

/** The candidate nearest to `word` if it is close enough to be a typo, e.g. `stesp` → `steps`. */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(lower, c.toLowerCase());
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/** How `checkConfig` names a field in its messages. */
export type ConfigFieldNaming = 'key' | 'flag';

const nameOf = (key: ConfigKey, naming: ConfigFieldNaming): string => {
  const flag = CONFIG_FIELDS[key].flag;
  return naming === 'flag' && flag ? `--${flag}` : key;
};

/** Bump positions along one axis: m, m + d, … <= size - 1 - m (as `gaussianBumps` lays them out). */
function ticks(d: number, size: number, m = 0): number {
  return Math.floor((size - 1 - 2 * m + 1e-9) / d) + 1;
}

/** Training images of a config (before a hole is cut out), computed without building them. */
export function datasetCount(
  cfg: Pick<ExperimentConfig, 'size' | 'dx' | 'dy'> & { labelMargin?: number },
): number {
  const m = cfg.labelMargin ?? 0;
  return ticks(cfg.dx, cfg.size, m) * ticks(cfg.dy, cfg.size, m);
}

/**
 * Fills defaults, then the preset's settings (`preset`), then the given ones, and checks every
 * field; a bad field throws one line naming it, the value and what is accepted. `naming: 'flag'` names fields by their CLI flag (`--snapshot-every`).
 */
export function checkConfig(partial: unknown, naming: ConfigFieldNaming = 'key'): ExperimentConfig {
  if (typeof partial !== 'object' || partial === null || Array.isArray(partial)) {
    throw new Error(`config must be an object of settings (got ${formatConfigValue(partial)})`);
  }
  const given: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(partial)) {
    if (!(key in CONFIG_FIELDS)) {
      const near = didYouMean(key, CONFIG_KEYS);
      throw new Error(
        near
          ? `unknown config key "${key}" (did you mean "${near}"?)`
          : `unknown config key "${key}"; accepted: ${CONFIG_KEYS.join(', ')}`,
      );
    }
    if (v !== undefined) given[key] = v;
  }
  const preset = given.preset ?? DEFAULT_CONFIG.preset;
  if (!(PRESET_NAMES as readonly unknown[]).includes(preset)) {
    throw new Error(
      `${nameOf('preset', naming)} must be ${CONFIG_FIELDS.preset.accepted} (got ${formatConfigValue(preset)})`,
    );
  }
  const merged: Record<string, unknown> = {
    ...structuredClone(DEFAULT_CONFIG),
    ...structuredClone(CONFIG_PRESETS[preset as ConfigPreset]),
    ...given,
  };
  if (given.dx !== undefined && given.dy === undefined) merged.dy = given.dx;
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const key = parsed.error.issues[0].path[0] as ConfigKey;
    const f = CONFIG_FIELDS[key];
    throw new Error(
      `${nameOf(key, naming)} must be ${f.accepted} (got ${formatConfigValue(merged[key])})`,
    );
  }
  const cfg = parsed.data as ExperimentConfig;
  for (const key of ['dx', 'dy'] as const) {
    if (cfg[key] > cfg.size - 1) {
      throw new Error(
        `${nameOf(key, naming)} must be a number > 0 and <= size - 1 = ${cfg.size - 1} (got ${cfg[key]})`,
      );
    }
  }
  if (cfg.labelMargin > (cfg.size - 1) / 2) {
    throw new Error(
      `${nameOf('labelMargin', naming)} must be a number >= 0 and <= (size - 1) / 2 = ${(cfg.size - 1) / 2} (got ${cfg.labelMargin})`,
    );
  }
  if (cfg.condLayers === 2 && cfg.condHidden === 0) {
    throw new Error(
      `${nameOf('condLayers', naming)} 2 needs a conditioning MLP: ${nameOf('condHidden', naming)} > 0 (got 0)`,
    );
  }
  if (cfg.ddimSteps > cfg.timesteps) {
    throw new Error(
      `${nameOf('ddimSteps', naming)} must be <= timesteps = ${cfg.timesteps} (got ${cfg.ddimSteps})`,
    );
  }
  const count = datasetCount(cfg);
  if (count > MAX_DATASET_IMAGES) {
    // The least square spacing that fits, rounded up to two significant digits.
    const exact = (cfg.size - 1 - 2 * cfg.labelMargin) / (Math.sqrt(MAX_DATASET_IMAGES) - 1);
    const unit = 10 ** (Math.floor(Math.log10(exact)) - 1);
    const least = Math.ceil(exact / unit) * unit;
    throw new Error(
      `${nameOf('dx', naming)} ${cfg.dx} and ${nameOf('dy', naming)} ${cfg.dy} at size ${cfg.size} ` +
        `give ${count.toExponential(2)} training images; at most ${MAX_DATASET_IMAGES} are held ` +
        `in memory (dx, dy >= ${least.toPrecision(2)} at this size)`,
    );
  }
  return cfg;
}

/**
 * Fills defaults and checks every field; a bad field throws one line naming it, the value and
 * what is accepted, e.g. `dx must be a number > 0 and <= 255 (got -1)`; an unknown key gets
 * `unknown config key "stesp" (did you mean "steps"?)`.
 */
export function resolveConfig(partial: Partial<ExperimentConfig> = {}): ExperimentConfig {
  return checkConfig(partial);
}

/**
 * The config a stored run was started with, from its `meta.json`'s `config`, checked; throws
 * one line naming the run dir when it is missing or no longer valid.
 */
export function configFromMeta(stored: unknown, runDir: string): ExperimentConfig {
  if (typeof stored !== 'object' || stored === null || Array.isArray(stored)) {
    throw new Error(
      `runDir "${runDir}" has no config in its meta.json (got ${formatConfigValue(stored)})`,
    );
  }
  const settings: Record<string, unknown> = { ...(stored as Record<string, unknown>) };
  for (const k of DERIVED_CONFIG_KEYS) delete settings[k];
  // Made before these settings existed: the model had their classic values.
  for (const [k, v] of Object.entries(CLASSIC_SETTINGS)) if (!(k in settings)) settings[k] = v;
  try {
    return checkConfig(settings);
  } catch (err) {
    throw new Error(
      `runDir "${runDir}" has a config that is not valid: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

/**
 * Turns command-line text into a config value of the field's kind. Numbers stay numbers; text
 * that is not one is passed on unchanged so the error shows what was typed.
 */
export function parseFieldText(key: ConfigKey, text: string): unknown {
  const numeric = (v: string): number | string =>
    v.trim() !== '' && !isNaN(Number(v)) ? Number(v) : v;
  switch (CONFIG_FIELDS[key].kind) {
    case 'integer':
    case 'number':
      return numeric(text);
    case 'list':
      return text.split(',').map(numeric);
    case 'tags':
      return text
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t !== '');
    case 'rect': {
      const v = text.split(',').map(numeric);
      return v.length === 4 ? { x0: v[0], y0: v[1], x1: v[2], y1: v[3] } : text;
    }
    case 'boolean':
      return text === 'true' ? true : text === 'false' ? false : text;
    default:
      return text;
  }
}

const escapeCell = (s: string): string => s.replace(/\|/g, '\\|');

/** The config table of the README, generated from {@link CONFIG_FIELDS}. */
export function configTable(): string {
  const rows = CONFIG_KEYS.map((key) => {
    const f: ConfigField = CONFIG_FIELDS[key];
    const flag = f.flag ? `\`--${f.flag}${f.arg ? ` ${f.arg}` : ''}\`` : '';
    const def = f.default === undefined ? '—' : `\`${formatConfigValue(f.default)}\``;
    return `| \`${key}\` | ${escapeCell(flag)} | ${def} | ${escapeCell(f.accepted)} | ${escapeCell(f.description)} |`;
  });
  return [
    '| key | flag | default | accepted | what it does |',
    '|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

/** The UNet settings of a config that `runExperiment` passes to the model as they are. */
export function unetSettings(
  cfg: Pick<
    ExperimentConfig,
    'groups' | 'pool' | 'upsample' | 'bottleneck' | 'init' | 'condLayers' | 'stem' | 'upMid'
  >,
): Pick<
  ExperimentConfig,
  'groups' | 'pool' | 'upsample' | 'bottleneck' | 'init' | 'condLayers' | 'stem' | 'upMid'
> {
  const { groups, pool, upsample, bottleneck, init, condLayers, stem, upMid } = cfg;
  return { groups, pool, upsample, bottleneck, init, condLayers, stem, upMid };
}
