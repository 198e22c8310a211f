import * as tf from '@tensorflow/tfjs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** One stored tensor: its name, group and place in `weights.bin`. */
export interface StoredTensor {
  name: string;
  group: string;
  shape: number[];
  offset: number;
}

/** What `model.json` holds: a format tag, the model's own fields, the tensor index. */
export interface CheckpointManifest {
  format: string;
  version: number;
  tensors: StoredTensor[];
  [field: string]: unknown;
}

/**
 * Writes a file whole or not at all (a temporary file renamed over it); a write that fails (a
 * full disk) removes its temporary file and rejects.
 */
export async function writeAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}

/**
 * Writes `weights.bin` (float32 little-endian, concatenated) and `model.json` (the manifest:
 * `head` plus each tensor's name, group, shape and offset), each atomically. A checkpoint that
 * cannot be written whole (a full disk) leaves nothing: the directory it created is removed.
 * @example await writeCheckpoint(dir, { format: 'x', version: 1 }, [{ name: 'w', group: 'param', tensor }]);
 */
export async function writeCheckpoint(
  dir: string,
  head: { format: string; version: number } & Record<string, unknown>,
  entries: { name: string; group: string; tensor: tf.Tensor }[],
): Promise<void> {
  const created = await mkdir(dir, { recursive: true });
  try {
    const total = entries.reduce((s, e) => s + e.tensor.size, 0);
    const buf = new Float32Array(total);
    const tensors: StoredTensor[] = [];
    let offset = 0;
    for (const e of entries) {
      buf.set(await e.tensor.data<'float32'>(), offset);
      tensors.push({ name: e.name, group: e.group, shape: e.tensor.shape, offset });
      offset += e.tensor.size;
    }
    await writeAtomic(path.join(dir, 'weights.bin'), new Uint8Array(buf.buffer));
    await writeAtomic(path.join(dir, 'model.json'), JSON.stringify({ ...head, tensors }, null, 2));
  } catch (err) {
    // A directory this call made holds no whole checkpoint: take it away again.
    if (created !== undefined) await rm(created, { recursive: true, force: true }).catch(() => 0);
    throw err;
  }
}

/**
 * Reads and checks `model.json` of a checkpoint: one of `formats` (and of `version` when given)
 * with a tensor index. Nothing else is read: the caller checks its own fields first.
 */
export async function readCheckpointManifest(
  dir: string,
  formats: string[],
  version?: number,
): Promise<CheckpointManifest> {
  const file = path.join(dir, 'model.json');
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message.split('\n')[0]}`, {
      cause: err,
    });
  }
  const m = parsed as Partial<CheckpointManifest> | null;
  if (
    !m ||
    typeof m !== 'object' ||
    !formats.includes(String(m.format)) ||
    (version !== undefined && m.version !== version) ||
    !Array.isArray(m.tensors)
  ) {
    throw new Error(
      version !== undefined
        ? `${file} is not a ${formats.join(' or ')} v${version} manifest`
        : `${file} is not a ${formats.join(' or ')} manifest (format ${String(m?.format)})`,
    );
  }
  return m as CheckpointManifest;
}

/**
 * Reads `weights.bin` of a checkpoint whose manifest is `manifest`, checking its length;
 * `values(t)` views one tensor's data.
 */
export async function readCheckpointWeights(
  dir: string,
  manifest: Pick<CheckpointManifest, 'tensors'>,
): Promise<(t: StoredTensor) => Float32Array> {
  const bytes = await readFile(path.join(dir, 'weights.bin'));
  const size = (t: StoredTensor): number => t.shape.reduce((a, b) => a * b, 1);
  const total = manifest.tensors.reduce((s, t) => s + size(t), 0);
  if (bytes.byteLength !== total * 4) {
    throw new Error(
      `weights.bin in ${dir} holds ${bytes.byteLength} bytes, model.json expects ${total * 4}`,
    );
  }
  const all = new Float32Array(
    bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
  );
  return (t) => all.subarray(t.offset, t.offset + size(t));
}

/**
 * Reads a checkpoint written by `writeCheckpoint` (every model's, same layout); checks the
 * format tag and the file length. `values(t)` views one tensor's data.
 */
export async function readCheckpoint(
  dir: string,
  formats: string[],
): Promise<{ manifest: CheckpointManifest; values: (t: StoredTensor) => Float32Array }> {
  const manifest = await readCheckpointManifest(dir, formats);
  return { manifest, values: await readCheckpointWeights(dir, manifest) };
}

/** An optimiser whose state a checkpoint holds (`FusedAdamEma`). */
export interface CheckpointedOptimizer {
  getWeights(): Promise<SavedTensor[]>;
  setWeights(weights: SavedTensor[]): Promise<void>;
  dispose(): void;
}

/** A named tensor of an optimiser's state. */
export interface SavedTensor {
  name: string;
  tensor: tf.Tensor;
}

/** What a trained model checkpoints: its weights and their EMA by name, and Adam's state. */
export interface TrainingState {
  /** The weights' names, in the order they are stored (and Adam keys its moments). */
  names: readonly string[];
  params: Readonly<Record<string, tf.Variable>>;
  ema: Readonly<Record<string, tf.Variable>>;
  /**
   * The optimisers by group, in storage order: `adam` (every model's), and any other (DiVA's
   * encoder has `adam-enc`); a null one stores nothing.
   */
  optimizers: Readonly<Record<string, CheckpointedOptimizer | null>>;
}

/**
 * Writes a trained model's checkpoint: `head` (format, version, the model's own fields) and
 * its params, EMA and optimisers' state (`param`, `ema`, then `<group>.<i>` tensors of each
 * optimiser's group, in that order).
 */
export async function writeTrainingCheckpoint(
  dir: string,
  head: { format: string; version: number } & Record<string, unknown>,
  state: TrainingState,
): Promise<void> {
  const { names, params, ema, optimizers } = state;
  const entries: { name: string; group: string; tensor: tf.Tensor }[] = [];
  for (const n of names) entries.push({ name: n, group: 'param', tensor: params[n] });
  for (const n of names) entries.push({ name: n, group: 'ema', tensor: ema[n] });
  const saved: SavedTensor[][] = [];
  try {
    for (const [group, optimizer] of Object.entries(optimizers)) {
      if (!optimizer) continue;
      const weights = await optimizer.getWeights();
      saved.push(weights);
      // Adam keys its moments by position in the variable list, so store them in order.
      weights.forEach((w, i) => entries.push({ name: `${group}.${i}`, group, tensor: w.tensor }));
    }
    await writeCheckpoint(dir, head, entries);
  } finally {
    // getWeights hands back a fresh iterations scalar; the moments are the optimiser's own.
    for (const weights of saved) if (weights.length > 0) weights[0].tensor.dispose();
  }
}

/**
 * Assigns a checkpoint's `param` and `ema` tensors to the model's variables and returns the
 * state of each optimiser group in `groups` (`<group>.<i>`, in order) for `restoreOptimizer`.
 */
export function restoreTrainingTensors(
  dir: string,
  tensors: readonly StoredTensor[],
  values: (t: StoredTensor) => Float32Array,
  state: Pick<TrainingState, 'params' | 'ema'>,
  groups: readonly string[] = ['adam'],
): Record<string, SavedTensor[]> {
  const saved: Record<string, SavedTensor[]> = Object.fromEntries(groups.map((g) => [g, []]));
  for (const t of tensors) {
    if (groups.includes(t.group)) {
      saved[t.group].push({ name: t.name, tensor: tf.tensor(values(t), t.shape) });
      continue;
    }
    const target = t.group === 'param' ? state.params[t.name] : state.ema[t.name];
    if (!target) throw new Error(`model.json in ${dir} names an unknown tensor "${t.name}"`);
    tf.tidy(() => target.assign(tf.tensor(values(t), t.shape)));
  }
  return saved;
}

/**
 * A fresh optimiser in place of `old` (disposed) holding the `saved` state of a checkpoint
 * (Adam copies it into its own variables; `saved` is disposed). A null `make()` takes none.
 */
export async function restoreOptimizer<O extends CheckpointedOptimizer | null>(
  old: CheckpointedOptimizer | null,
  make: () => O,
  saved: SavedTensor[] = [],
): Promise<O> {
  old?.dispose();
  const optimizer = make();
  try {
    if (optimizer && saved.length > 0) await optimizer.setWeights(saved);
  } finally {
    tf.dispose(saved.map((a) => a.tensor));
  }
  return optimizer;
}
