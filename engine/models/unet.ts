import * as tf from '@tensorflow/tfjs';
import { conv2d } from '../backend/conv.js';
import { attentionPacked } from '../backend/fused/attention.js';
// One native pass each way on the 'native' backend; the same composed tf ops elsewhere.
import { gelu } from '../backend/fused/gelu.js';
import { groupNorm as fusedGroupNorm } from '../backend/fused/group-norm.js';
import { convBlock, type ConvBlockWeights } from '../backend/fused/conv-block.js';
import { createRng } from '../../streams/random.js';
import type { Rng } from '../../streams/random.js';

/** Shape of the conditional UNet (seed 004, scaled down). */
export interface UnetConfig {
  /** Image side in pixels; a multiple of 8 (three 2× poolings). */
  size: number;
  /** Channel widths of the three resolutions below the stem, e.g. [16, 32, 64]. */
  widths: [number, number, number];
  /** GroupNorm groups; a block with fewer (or indivisible) channels uses the largest divisor. */
  groups: number;
  /** Self-attention layers (where: `attentionAt`). */
  attention: boolean;
  /**
   * Where the attention layers go when `attention` is on: `bottom`, one after the lowest block
   * (default); `interlaced`, one after each of the six down/up blocks (seed 004's UNet);
   * `interlaced-half`, the same but for the last up block, the one at full resolution (whose
   * S²×S² attention costs more than the rest of the network at 32 px).
   */
  attentionAt?: AttentionAt;
  /** Attention heads (default 1); must divide the channels of every attended block. */
  heads?: number;
  /** Length of each sinusoidal encoding (t, x, y); even. */
  encDim: number;
  /** Hidden width of the shared conditioning MLP; 0 projects the raw encodings per block. */
  condHidden: number;
  /** Number of diffusion steps (t is encoded as an index in [0, T)). */
  T: number;
  /**
   * How x and y are encoded: `fine` (default) with wavelengths from 2 px to 4× the image side;
   * `standard`, the transformer sinusoid (max period 10,000) of the raw coordinate, as t is.
   */
  posEncoding?: PosEncoding;
  /** Down-sampling between levels: 2×2 `avg` (default) or `max` pooling. */
  pool?: PoolKind;
  /** Up-sampling between levels: `nearest` (default) or `bilinear` with aligned corners. */
  upsample?: UpsampleKind;
  /**
   * A residual block between the down and up paths (default false): GELU(x + GN(conv(GELU(GN(conv
   * x))))), unconditioned, weights `bottleneck.*`.
   */
  bottleneck?: boolean;
  /**
   * Initial weights (default `he`): `he`, He-normal std √(2/fan_in), zero biases, the output
   * convolution at 0.1/√fan_in; `torch`, PyTorch's default for Conv2d and Linear, U(±1/√fan_in)
   * for weights (kaiming-uniform with a = √5) and biases alike; `glorot`, Glorot-uniform
   * U(±√(6/(fan_in + fan_out))) weights, zero biases. GroupNorm always starts at γ 1, β 0.
   */
  init?: InitKind;
  /** Linear layers (each followed by GELU) of the shared conditioning MLP, 1 (default) or 2. */
  condLayers?: number;
  /**
   * The full-resolution stem: `conv` (default), one 3×3 convolution with a bias; `block`, an
   * unconditioned double-conv block like the others (weights `stem.conv1.w`, `stem.gn1.g`, …).
   */
  stem?: StemKind;
  /**
   * Middle channels of each up block (its first convolution's output): `out` (default), the
   * block's output width; `skip`, the width of its skip connection (widths[2], widths[1],
   * widths[0] for up1..up3), as in the PyTorch reference of docs/phases.md.
   */
  upMid?: UpMid;
}

/** Down-sampling of a UNet (see `UnetConfig.pool`). */
export type PoolKind = 'avg' | 'max';
/** Up-sampling of a UNet (see `UnetConfig.upsample`). */
export type UpsampleKind = 'nearest' | 'bilinear';
/** Weight initialisation of a UNet (see `UnetConfig.init`). */
export type InitKind = 'he' | 'torch' | 'glorot';
/** The stem of a UNet (see `UnetConfig.stem`). */
export type StemKind = 'conv' | 'block';
/** Middle width of the up blocks (see `UnetConfig.upMid`). */
export type UpMid = 'out' | 'skip';

export const POOL_KINDS: readonly PoolKind[] = ['avg', 'max'];
export const UPSAMPLE_KINDS: readonly UpsampleKind[] = ['nearest', 'bilinear'];
export const INIT_KINDS: readonly InitKind[] = ['he', 'torch', 'glorot'];
export const STEM_KINDS: readonly StemKind[] = ['conv', 'block'];
export const UP_MIDS: readonly UpMid[] = ['out', 'skip'];

/** Where a UNet's self-attention layers go (see `UnetConfig.attentionAt`). */
export type AttentionAt = 'bottom' | 'interlaced' | 'interlaced-half';

/** The accepted `attentionAt` values. */
export const ATTENTION_AT: readonly AttentionAt[] = ['bottom', 'interlaced', 'interlaced-half'];

/** The position encodings `encodeConditions` offers (see `UnetConfig.posEncoding`). */
export type PosEncoding = 'fine' | 'standard';

export const DEFAULT_UNET_CONFIG: UnetConfig = {
  size: 16,
  widths: [16, 32, 64],
  groups: 8,
  attention: false,
  attentionAt: 'bottom',
  heads: 1,
  encDim: 32,
  condHidden: 64,
  T: 100,
  posEncoding: 'fine',
  pool: 'avg',
  upsample: 'nearest',
  bottleneck: false,
  init: 'he',
  condLayers: 1,
  stem: 'conv',
  upMid: 'out',
};

/** Weights by name; the same names serve the trained variables and their EMA copies. */
export type UnetWeights = Record<string, tf.Tensor>;

export interface UnetParams<W extends tf.Tensor = tf.Tensor> {
  config: UnetConfig;
  weights: Record<string, W>;
}

export interface UnetOutput {
  /** Predicted noise, [B, S, S, 1]. */
  eps: tf.Tensor4D;
  /**
   * The first up block's output before its conditioning is added, [B, S/4, S/4, widths[1]].
   * Kept outside any enclosing tf.tidy: the caller disposes it.
   */
  layer4?: tf.Tensor4D;
}

/**
 * Completes and validates a UNet config; throws a one-line error naming the bad field.
 * @example resolveUnetConfig({ size: 32 }).widths // [16, 32, 64]
 */
export function resolveUnetConfig(partial: Partial<UnetConfig> = {}): UnetConfig {
  const c: UnetConfig = { ...DEFAULT_UNET_CONFIG, ...partial };
  c.attentionAt ??= 'bottom';
  c.heads ??= 1;
  c.pool ??= 'avg';
  c.upsample ??= 'nearest';
  c.bottleneck ??= false;
  c.init ??= 'he';
  c.condLayers ??= 1;
  c.stem ??= 'conv';
  c.upMid ??= 'out';
  const posInt = (v: unknown): boolean => Number.isInteger(v) && (v as number) > 0;
  if (!posInt(c.size) || c.size % 8 !== 0 || c.size > 256) {
    throw new Error(`unet.size must be a multiple of 8 in [8, 256] (got ${String(c.size)})`);
  }
  if (!Array.isArray(c.widths) || c.widths.length !== 3 || !c.widths.every(posInt)) {
    throw new Error(`unet.widths must be 3 positive integers (got ${JSON.stringify(c.widths)})`);
  }
  if (c.widths.some((w) => w > 1024)) {
    throw new Error(`unet.widths must each be in [1, 1024] (got ${JSON.stringify(c.widths)})`);
  }
  if (!posInt(c.groups) || c.groups > 64) {
    throw new Error(`unet.groups must be an integer in [1, 64] (got ${String(c.groups)})`);
  }
  if (typeof c.attention !== 'boolean') {
    throw new Error(`unet.attention must be true or false (got ${String(c.attention)})`);
  }
  if (!ATTENTION_AT.includes(c.attentionAt)) {
    throw new Error(
      `unet.attentionAt must be one of ${ATTENTION_AT.join(', ')} (got ${JSON.stringify(c.attentionAt)})`,
    );
  }
  if (!posInt(c.heads) || c.heads > 64) {
    throw new Error(`unet.heads must be an integer in [1, 64] (got ${String(c.heads)})`);
  }
  if (c.attention) {
    const odd = attentionPlan(c).find(([, , ch]) => ch % (c.heads as number) !== 0);
    if (odd) {
      throw new Error(
        `unet.heads must divide the channels of every attended block (got ${String(c.heads)}; ${odd[1]} has ${odd[2]})`,
      );
    }
  }
  if (!posInt(c.encDim) || c.encDim % 2 !== 0 || c.encDim < 4 || c.encDim > 512) {
    throw new Error(`unet.encDim must be an even integer in [4, 512] (got ${String(c.encDim)})`);
  }
  if (!Number.isInteger(c.condHidden) || c.condHidden < 0 || c.condHidden > 4096) {
    throw new Error(
      `unet.condHidden must be an integer in [0, 4096] (got ${String(c.condHidden)})`,
    );
  }
  if (!Number.isInteger(c.T) || c.T < 2 || c.T > 10000) {
    throw new Error(`unet.T must be an integer in [2, 10000] (got ${String(c.T)})`);
  }
  if (c.posEncoding !== 'fine' && c.posEncoding !== 'standard') {
    throw new Error(
      `unet.posEncoding must be one of fine, standard (got ${JSON.stringify(c.posEncoding)})`,
    );
  }
  const oneOfList = <T>(key: keyof UnetConfig, list: readonly T[]): void => {
    if (!list.includes(c[key] as T)) {
      throw new Error(
        `unet.${key} must be one of ${list.join(', ')} (got ${JSON.stringify(c[key])})`,
      );
    }
  };
  oneOfList('pool', POOL_KINDS);
  oneOfList('upsample', UPSAMPLE_KINDS);
  oneOfList('init', INIT_KINDS);
  oneOfList('stem', STEM_KINDS);
  oneOfList('upMid', UP_MIDS);
  if (typeof c.bottleneck !== 'boolean') {
    throw new Error(`unet.bottleneck must be true or false (got ${String(c.bottleneck)})`);
  }
  if (c.condLayers !== 1 && c.condLayers !== 2) {
    throw new Error(`unet.condLayers must be 1 or 2 (got ${String(c.condLayers)})`);
  }
  if (c.condLayers === 2 && c.condHidden === 0) {
    throw new Error('unet.condLayers 2 needs a conditioning MLP (condHidden > 0)');
  }
  return { ...c, widths: [...c.widths] as [number, number, number] };
}

/** Block names and their (in, out, middle) channels, in application order. */
function blockPlan(c: UnetConfig): [string, number, number, number][] {
  const [w0, w1, w2] = c.widths;
  const skip = c.upMid === 'skip';
  return [
    ['down1', w0, w1, w1],
    ['down2', w1, w2, w2],
    ['down3', w2, w2, w2],
    ['up1', 2 * w2, w1, skip ? w2 : w1],
    ['up2', 2 * w1, w0, skip ? w1 : w0],
    ['up3', 2 * w0, w0, w0],
  ];
}

/** The weights of an unconditioned double-conv block `name` from cin to cout via cmid. */
function blockShapes(name: string, cin: number, cout: number, cmid: number): [string, number[]][] {
  return [
    [`${name}.conv1.w`, [3, 3, cin, cmid]],
    [`${name}.gn1.g`, [cmid]],
    [`${name}.gn1.b`, [cmid]],
    [`${name}.conv2.w`, [3, 3, cmid, cout]],
    [`${name}.gn2.g`, [cout]],
    [`${name}.gn2.b`, [cout]],
  ];
}

/**
 * The attention layers of a config, in application order: weight prefix, block it follows and
 * its channels. `bottom` keeps the historic prefix `attn` (stored checkpoints load unchanged).
 */
function attentionPlan(c: UnetConfig): [string, string, number][] {
  if (!c.attention) return [];
  if (c.attentionAt === 'interlaced' || c.attentionAt === 'interlaced-half') {
    return blockPlan(c)
      .filter(([name]) => c.attentionAt === 'interlaced' || name !== 'up3')
      .map(([name, , cout]) => [`attn.${name}`, name, cout]);
  }
  return [['attn', 'down3', c.widths[2]]];
}

/** The shapes of every weight, in a fixed order (save files and the optimizer rely on it). */
export function unetShapes(config: UnetConfig): [string, number[]][] {
  const c = config;
  const [w0, , w2] = c.widths;
  const cond = c.condHidden > 0 ? c.condHidden : 3 * c.encDim;
  const shapes: [string, number[]][] =
    c.stem === 'block'
      ? blockShapes('stem', 1, w0, w0)
      : [
          ['stem.w', [3, 3, 1, w0]],
          ['stem.b', [w0]],
        ];
  if (c.condHidden > 0) {
    shapes.push(['cond.w', [3 * c.encDim, c.condHidden]], ['cond.b', [c.condHidden]]);
    if (c.condLayers === 2) {
      shapes.push(['cond2.w', [c.condHidden, c.condHidden]], ['cond2.b', [c.condHidden]]);
    }
  }
  for (const [name, cin, cout, cmid] of blockPlan(c)) {
    shapes.push(
      ...blockShapes(name, cin, cout, cmid),
      [`${name}.emb.w`, [cond, cout]],
      [`${name}.emb.b`, [cout]],
    );
  }
  if (c.bottleneck) shapes.push(...blockShapes('bottleneck', w2, w2, w2));
  for (const [prefix, , ch] of attentionPlan(c)) {
    shapes.push([`${prefix}.gn.g`, [ch]], [`${prefix}.gn.b`, [ch]]);
    for (const p of ['q', 'k', 'v', 'o']) shapes.push([`${prefix}.${p}`, [ch, ch]]);
  }
  shapes.push(['out.w', [1, 1, w0, 1]], ['out.b', [1]]);
  return shapes;
}

/**
 * Fan-in and fan-out of a weight (every axis but the last, and the last; times the kernel's
 * area for a convolution), or of the weight a bias `….b` belongs to.
 */
function fans(name: string, shapes: Map<string, number[]>): { fanIn: number; fanOut: number } {
  const leaf = name.slice(name.lastIndexOf('.') + 1);
  const shape = leaf === 'b' ? shapes.get(`${name.slice(0, -2)}.w`) : shapes.get(name);
  if (!shape) throw new Error(`unet: no weight for ${name}`);
  const n = shape.reduce((a, b) => a * b, 1);
  const out = shape[shape.length - 1];
  const area = shape.length === 4 ? shape[0] * shape[1] : 1;
  return { fanIn: n / out, fanOut: out * area };
}

function uniform(n: number, bound: number, rng: Rng): Float32Array {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = (2 * rng.next() - 1) * bound;
  return v;
}

function initValues(
  name: string,
  shape: number[],
  rng: Rng,
  init: InitKind,
  shapes: Map<string, number[]>,
): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const leaf = name.slice(name.lastIndexOf('.') + 1);
  if (name.includes('.gn') && leaf === 'g') return new Float32Array(n).fill(1);
  if (name.includes('.gn') && leaf === 'b') return new Float32Array(n);
  if (init === 'torch') {
    // Conv2d/Linear.reset_parameters: kaiming_uniform(a=√5) gives U(±1/√fan_in), so does the bias.
    return uniform(n, 1 / Math.sqrt(fans(name, shapes).fanIn), rng);
  }
  if (leaf === 'b' || leaf === 'g') return new Float32Array(n);
  if (init === 'glorot') {
    const { fanIn, fanOut } = fans(name, shapes);
    return uniform(n, Math.sqrt(6 / (fanIn + fanOut)), rng);
  }
  // He-normal for weights feeding GELU; fan-in is every axis but the last.
  const fanIn = n / shape[shape.length - 1];
  // The output convolution and each attention's output projection start small (near identity).
  const std =
    name.startsWith('out.') || (name.startsWith('attn') && leaf === 'o')
      ? 0.1 / Math.sqrt(fanIn)
      : Math.sqrt(2 / fanIn);
  const v = rng.normals(n);
  for (let i = 0; i < n; i++) v[i] *= std;
  return v;
}

/**
 * Creates the UNet's trainable variables, seeded.
 * @example const p = createUnet({ size: 16, widths: [8, 16, 32] }, 1);
 */
export function createUnet(config: Partial<UnetConfig> = {}, seed = 0): UnetParams<tf.Variable> {
  const c = resolveUnetConfig(config);
  const rng = createRng(seed);
  const weights: Record<string, tf.Variable> = {};
  const all = unetShapes(c);
  const byName = new Map(all);
  for (const [name, shape] of all) {
    const init = tf.tensor(initValues(name, shape, rng, c.init ?? 'he', byName), shape);
    weights[name] = tf.variable(init, true);
    init.dispose();
  }
  return { config: c, weights };
}

/** Number of scalar parameters of a config. */
export function unetParamCount(config: UnetConfig): number {
  return unetShapes(config).reduce((n, [, s]) => n + s.reduce((a, b) => a * b, 1), 0);
}

function largestDivisorUpTo(n: number, limit: number): number {
  for (let g = Math.min(n, limit); g > 1; g--) if (n % g === 0) return g;
  return 1;
}

/** GroupNorm with the largest group count up to `groups` that divides the channels. */
function groupNorm(x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor, groups: number): tf.Tensor4D {
  return fusedGroupNorm(x, gamma, beta, largestDivisorUpTo(x.shape[3], groups));
}

/** Sinusoidal encoding of v [B] at the given angular frequencies → [B, 2·freqs]. */
function sinusoid(v: tf.Tensor1D, freqs: Float32Array): tf.Tensor2D {
  const angles = tf.mul(v.reshape([-1, 1]), tf.tensor2d(freqs, [1, freqs.length]));
  return tf.concat([tf.sin(angles), tf.cos(angles)], 1) as tf.Tensor2D;
}

function timeFreqs(half: number): Float32Array {
  const f = new Float32Array(half);
  for (let k = 0; k < half; k++) f[k] = 1 / Math.pow(10000, k / half);
  return f;
}

/** Wavelengths from 2 px (a 0.1 px shift turns the phase by 0.3 rad) to 4× the image side. */
function positionFreqs(half: number, size: number): Float32Array {
  const f = new Float32Array(half);
  const lo = 2;
  const hi = 4 * size;
  for (let k = 0; k < half; k++) {
    const lambda = lo * Math.pow(hi / lo, half > 1 ? k / (half - 1) : 0);
    f[k] = (2 * Math.PI) / lambda;
  }
  return f;
}

/**
 * The concatenated encodings of t, x and y: [B, 3·encDim]. Each is [sin(v·f_k) …, cos(v·f_k) …],
 * k < encDim/2. t always, and x and y with `posEncoding: 'standard'`, use the transformer's
 * f_k = 1 / 10000^(2k/encDim) (its PE(p, 2k) and PE(p, 2k+1), sines first then cosines).
 */
export function encodeConditions(
  config: UnetConfig,
  t: tf.Tensor1D,
  labels: tf.Tensor2D,
): tf.Tensor2D {
  return tf.tidy(() => {
    const half = config.encDim / 2;
    const pf =
      config.posEncoding === 'standard' ? timeFreqs(half) : positionFreqs(half, config.size);
    const [xs, ys] = tf.split(labels, 2, 1);
    return tf.concat<tf.Tensor2D>(
      [
        sinusoid(t, timeFreqs(half)),
        sinusoid(xs.reshape<tf.Tensor1D>([-1]), pf),
        sinusoid(ys.reshape<tf.Tensor1D>([-1]), pf),
      ],
      1,
    );
  });
}

/** A double-conv block's weights (`<name>.conv1.w`, `.gn1.g`, …) and its GroupNorms' groups. */
function blockWeights(
  W: UnetWeights,
  name: string,
  groups: number,
): [ConvBlockWeights, { groups1: number; groups2: number }] {
  const w1 = W[`${name}.conv1.w`] as tf.Tensor4D;
  const w2 = W[`${name}.conv2.w`] as tf.Tensor4D;
  const weights = {
    w1,
    gamma1: W[`${name}.gn1.g`],
    beta1: W[`${name}.gn1.b`],
    w2,
    gamma2: W[`${name}.gn2.g`],
    beta2: W[`${name}.gn2.b`],
  };
  const groups1 = largestDivisorUpTo(w1.shape[3], groups);
  return [weights, { groups1, groups2: largestDivisorUpTo(w2.shape[3], groups) }];
}

/**
 * GELU(GN(conv(GELU(GN(conv(x)))))) (+ bias): one fused op (engine/backend/fused/conv-block.ts);
 * `inputGrad: false` where x is the network's input.
 */
function doubleConv(
  x: tf.Tensor4D,
  W: UnetWeights,
  name: string,
  groups: number,
  opts: { bias?: tf.Tensor4D; inputGrad?: boolean } = {},
): tf.Tensor4D {
  const [weights, g] = blockWeights(W, name, groups);
  return convBlock(x, weights, { ...g, ...opts });
}

/** The residual bottleneck: GELU(x + GN(conv(GELU(GN(conv(x)))))), one fused op. */
function residualBlock(x: tf.Tensor4D, W: UnetWeights, name: string, groups: number): tf.Tensor4D {
  const [weights, g] = blockWeights(W, name, groups);
  return convBlock(x, weights, { ...g, residual: true });
}

function condBias(cond: tf.Tensor2D, W: UnetWeights, name: string): tf.Tensor4D {
  const p = tf.add(tf.matMul(cond, W[`${name}.emb.w`] as tf.Tensor2D), W[`${name}.emb.b`]);
  return p.reshape<tf.Tensor4D>([cond.shape[0], 1, 1, -1]);
}

/** What one self-attention layer returns: its output and each head's attention weights. */
export interface AttentionResult {
  /** x + the projected attention mix, [B, H, W, C]. */
  out: tf.Tensor4D;
  /**
   * Per head, softmax(QKᵀ/√d) over the H·W positions, [B, H·W, H·W]; each row sums to 1.
   * Empty with `weights: false` (the fused kernel never forms them).
   */
  weights: tf.Tensor3D[];
}

/**
 * Self-attention over the H·W positions of x [B, H, W, C]: GroupNorm, then Q, K, V as 1×1
 * projections (`<prefix>.q|k|v`, [C, C]), per head (d = C / heads channels each)
 * softmax(Q Kᵀ / √d) V, the heads concatenated, projected by `<prefix>.o` and added to x.
 * With `weights: false` q, k and v come from one packed projection (with one head, Wo folded
 * into Wv) and the heads run as one fused kernel (engine/backend/fused/attention.ts: no
 * [H·W, H·W] score matrix is stored, forward or backward); otherwise they are composed from
 * matMul and softmax, heads on column slices of the projections, and their weights returned.
 * Intermediates are disposed; the caller owns `out` and `weights`.
 * @example const { out } = selfAttention(x, W, 'attn', { groups: 8, heads: 4, weights: false });
 */
export function selfAttention(
  x: tf.Tensor4D,
  W: UnetWeights,
  prefix: string,
  opts: { groups: number; heads?: number; weights?: boolean },
): AttentionResult {
  const [b, h, w, c] = x.shape;
  const heads = opts.heads ?? 1;
  if (!Number.isInteger(heads) || heads < 1 || c % heads !== 0) {
    throw new Error(
      `attention heads must be a positive integer dividing ${c} channels (got ${String(heads)})`,
    );
  }
  return tf.tidy(() => {
    const d = c / heads;
    const n = groupNorm(
      x,
      W[`${prefix}.gn.g`],
      W[`${prefix}.gn.b`],
      opts.groups,
    ).reshape<tf.Tensor2D>([b * h * w, c]);
    const proj = (p: string, head: number): tf.Tensor3D => {
      const full = W[`${prefix}.${p}`] as tf.Tensor2D;
      const wt = heads === 1 ? full : tf.slice(full, [0, head * d], [c, d]);
      return tf.matMul(n, wt).reshape<tf.Tensor3D>([b, h * w, d]);
    };
    if (opts.weights === false) {
      // One projection n · [Wq | Wk | Wv] into the packed [B, H·W, 3C] the kernel reads. With
      // one head, softmax(·) (n Wv) Wo = softmax(·) (n (Wv Wo)): the output projection is
      // folded into v's ([C, C] · [C, C]), and the kernel's output is the layer's.
      const [wq, wk, wv, wo] = ['q', 'k', 'v', 'o'].map((p) => W[`${prefix}.${p}`] as tf.Tensor2D);
      const wqkv = tf.concat([wq, wk, heads === 1 ? tf.matMul(wv, wo) : wv], 1);
      const qkv = tf.matMul(n, wqkv).reshape<tf.Tensor3D>([b, h * w, 3 * c]);
      const mixed = attentionPacked(qkv, heads).reshape<tf.Tensor2D>([b * h * w, c]);
      const out = (heads === 1 ? mixed : tf.matMul(mixed, wo)).reshape<tf.Tensor4D>([b, h, w, c]);
      return { out: tf.add<tf.Tensor4D>(x, out), weights: [] };
    }
    const weights: tf.Tensor3D[] = [];
    const mixes: tf.Tensor3D[] = [];
    for (let k = 0; k < heads; k++) {
      const scores = tf.div<tf.Tensor3D>(
        tf.matMul(proj('q', k), proj('k', k), false, true),
        Math.sqrt(d),
      );
      const a = tf.softmax(scores);
      weights.push(a);
      mixes.push(tf.matMul(a, proj('v', k)));
    }
    const mixed = (heads === 1 ? mixes[0] : tf.concat(mixes, 2)).reshape<tf.Tensor2D>([
      b * h * w,
      c,
    ]);
    const out = tf.matMul(mixed, W[`${prefix}.o`]).reshape<tf.Tensor4D>([b, h, w, c]);
    return { out: tf.add<tf.Tensor4D>(x, out), weights };
  });
}

function upsample(x: tf.Tensor4D, kind: UpsampleKind): tf.Tensor4D {
  const [, h, w] = x.shape;
  return kind === 'bilinear'
    ? tf.image.resizeBilinear(x, [2 * h, 2 * w], true)
    : tf.image.resizeNearestNeighbor(x, [2 * h, 2 * w]);
}

/**
 * Applies the conditional UNet: x [B,S,S,1] noisy images, t [B] timestep indices, labels [B,2]
 * bump centres in pixels. With `capture`, also returns "layer 4" (see UnetOutput).
 * @example const { eps, layer4 } = unetApply(p, x, t, labels, { capture: true });
 */
export function unetApply(
  params: UnetParams,
  x: tf.Tensor4D,
  t: tf.Tensor1D,
  labels: tf.Tensor2D,
  opts: { capture?: boolean } = {},
): UnetOutput {
  const c = params.config;
  const W = params.weights;
  const [, s1, s2, ch] = x.shape;
  if (s1 !== c.size || s2 !== c.size || ch !== 1) {
    throw new Error(
      `unet input must be [B, ${c.size}, ${c.size}, 1] (got [${x.shape.join(', ')}])`,
    );
  }
  let layer4: tf.Tensor4D | undefined;
  const eps = tf.tidy(() => {
    let cond = encodeConditions(c, t, labels);
    if (c.condHidden > 0) {
      cond = gelu(tf.add<tf.Tensor2D>(tf.matMul(cond, W['cond.w'] as tf.Tensor2D), W['cond.b']));
      if (c.condLayers === 2) {
        cond = gelu(
          tf.add<tf.Tensor2D>(tf.matMul(cond, W['cond2.w'] as tf.Tensor2D), W['cond2.b']),
        );
      }
    }
    const g = c.groups;
    const stem =
      c.stem === 'block'
        ? doubleConv(x, W, 'stem', g, { inputGrad: false })
        : tf.add<tf.Tensor4D>(conv2d(x, W['stem.w'] as tf.Tensor4D), W['stem.b']);
    const up = (v: tf.Tensor4D): tf.Tensor4D => upsample(v, c.upsample ?? 'nearest');
    const attend = new Map(attentionPlan(c).map(([prefix, after]) => [after, prefix]));
    const heads = c.heads ?? 1;
    // A block's attention (when it has one) follows its output, conditioning included.
    const attended = (name: string, v: tf.Tensor4D): tf.Tensor4D => {
      const prefix = attend.get(name);
      return prefix === undefined
        ? v
        : selfAttention(v, W, prefix, { groups: g, heads, weights: false }).out;
    };
    const block = (name: string, input: tf.Tensor4D): tf.Tensor4D =>
      attended(name, doubleConv(input, W, name, g, { bias: condBias(cond, W, name) }));
    const pool = (v: tf.Tensor4D): tf.Tensor4D =>
      c.pool === 'max' ? tf.maxPool(v, 2, 2, 'valid') : tf.avgPool(v, 2, 2, 'valid');
    const d1 = block('down1', pool(stem));
    const d2 = block('down2', pool(d1));
    const d3raw = block('down3', pool(d2));
    const d3 = c.bottleneck ? residualBlock(d3raw, W, 'bottleneck', g) : d3raw;
    // "Layer 4" is up1's output before its conditioning bias: captured, the bias is added after.
    const u1in = tf.concat<tf.Tensor4D>([up(d3), d2], 3);
    let u1: tf.Tensor4D;
    if (opts.capture) {
      const u1raw = doubleConv(u1in, W, 'up1', g);
      layer4 = tf.keep(u1raw);
      u1 = attended('up1', tf.add<tf.Tensor4D>(u1raw, condBias(cond, W, 'up1')));
    } else {
      u1 = block('up1', u1in);
    }
    const u2 = block('up2', tf.concat([up(u1), d1], 3));
    const u3 = block('up3', tf.concat([up(u2), stem], 3));
    return tf.add<tf.Tensor4D>(conv2d(u3, W['out.w'] as tf.Tensor4D), W['out.b']);
  });
  return layer4 ? { eps, layer4 } : { eps };
}
