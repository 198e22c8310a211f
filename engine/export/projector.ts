import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { locateBump } from '../../operators/metrics/locate-bump.js';
import type { RunEvent } from '../../streams/events.js';
import { readSnapshotArrays, writeFileAtomic } from '../store/run-store.js';
import { encodeGreyPng, tileGrey, toGrey } from './png.js';

/** One embedding for TensorBoard's projector: N rows of `dim` values and N rows of metadata. */
export interface ProjectorEmbedding {
  /** Shown in the projector's list, e.g. `activations/step-300`. */
  name: string;
  /** N*dim, row-major. */
  values: ArrayLike<number>;
  dim: number;
  /** Columns of metadata, N values each (numbers or strings). */
  metadata: Record<string, ArrayLike<number | string>>;
  /** The image of each point (`size*size` grey levels), shown in the projector. */
  sprite?: { tiles: Uint8Array[]; size: number };
}

/** The projector shows a sprite sheet of at most this many pixels a side. */
const MAX_SPRITE = 8192;

/**
 * The embeddings a run holds, oldest first: each snapshot's activations (from
 * `snapshots/<step>.bin`, with the labels, the bump count found in each sample and the
 * samples as a sprite), each assessment's 3-D embedding (with the same sprite), and every
 * `embedding` event.
 */
export function runEmbeddings(runDir: string, events: readonly RunEvent[]): ProjectorEmbedding[] {
  const out: ProjectorEmbedding[] = [];
  const sprites = new Map<number, { tiles: Uint8Array[]; size: number }>();
  for (const e of events) {
    if (e.type === 'snapshot') {
      const file = join(runDir, e.file);
      if (!existsSync(file)) continue;
      const a = readSnapshotArrays(file);
      const n = e.count;
      if (!(n > 0) || a.activations.length !== n * e.dim) continue;
      const metadata = labelColumns(a.labels, n);
      const px = e.size * e.size;
      let sprite: { tiles: Uint8Array[]; size: number } | undefined;
      if (a.images.length === n * px) {
        const images = Array.from({ length: n }, (_, i) => a.images.subarray(i * px, (i + 1) * px));
        metadata.bumps = images.map((img) => locateBump(img, e.size).count);
        sprite = { tiles: images.map(toGrey), size: e.size };
        sprites.set(e.step, sprite);
      }
      out.push({
        name: `activations/step-${e.step}`,
        values: a.activations,
        dim: e.dim,
        metadata,
        sprite,
      });
    } else if (e.type === 'assessment') {
      const n = e.embedding.length / 3;
      if (!Number.isInteger(n) || n < 1) continue;
      const metadata: Record<string, ArrayLike<number | string>> = labelColumns(e.labels, n);
      metadata.phase = new Array<string>(n).fill(e.phase);
      const sprite = sprites.get(e.step);
      out.push({
        name: `assessment/step-${e.step}`,
        values: e.embedding,
        dim: 3,
        metadata,
        sprite: sprite?.tiles.length === n ? sprite : undefined,
      });
    } else if (e.type === 'embedding') {
      const n = e.points.length / 3;
      if (!Number.isInteger(n) || n < 1) continue;
      const metadata: Record<string, ArrayLike<number>> = {};
      for (const [k, v] of Object.entries(e.colourBy)) if (v.length === n) metadata[k] = v;
      out.push({ name: `${e.name}/step-${e.step}`, values: e.points, dim: 3, metadata });
    }
  }
  return out;
}

/** Label columns: `label_x`, `label_y` for two values per example, else `label_0`, `label_1`, … */
function labelColumns(labels: ArrayLike<number>, n: number): Record<string, number[]> {
  const d = labels.length / n;
  if (!Number.isInteger(d) || d < 1) return {};
  const names =
    d === 2 ? ['label_x', 'label_y'] : Array.from({ length: d }, (_, j) => `label_${j}`);
  return Object.fromEntries(
    names.map((name, j) => [name, Array.from({ length: n }, (_, i) => labels[i * d + j])]),
  );
}

/** A value as it goes into a TSV cell: 7 significant digits, tabs and newlines replaced. */
function cell(v: number | string): string {
  if (typeof v === 'number') return Number.isFinite(v) ? String(Number(v.toPrecision(7))) : 'NaN';
  return v.replace(/[\t\r\n]/g, ' ');
}

/** The file stem of an embedding: its name with anything but letters, digits, `.`, `-` as `_`. */
function stem(name: string): string {
  return name.replace(/[^\w.-]+/g, '_');
}

/** A string as a protobuf text-format literal. */
function pbString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/**
 * Writes the embeddings as TensorBoard's projector reads them without a checkpoint:
 * `projector/<name>.tsv` (tensor rows), `projector/<name>.metadata.tsv` (a header row, then
 * one row per point; a single column has no header, as the projector expects) and
 * `projector_config.pbtxt` in `dir`, whose paths are relative to it.
 * Returns the number of embeddings written.
 */
export function writeProjector(dir: string, embeddings: readonly ProjectorEmbedding[]): number {
  if (embeddings.length === 0) return 0;
  mkdirSync(join(dir, 'projector'), { recursive: true });
  const config: string[] = [];
  const used = new Set<string>();
  for (const emb of embeddings) {
    const n = emb.values.length / emb.dim;
    let base = stem(emb.name);
    for (let k = 2; used.has(base); k++) base = `${stem(emb.name)}-${k}`;
    used.add(base);
    const rows: string[] = [];
    for (let i = 0; i < n; i++) {
      const row: string[] = [];
      for (let j = 0; j < emb.dim; j++) row.push(cell(emb.values[i * emb.dim + j]));
      rows.push(row.join('\t'));
    }
    const tensorPath = `projector/${base}.tsv`;
    writeFileAtomic(join(dir, tensorPath), rows.join('\n') + '\n');
    const columns = Object.entries(emb.metadata);
    const lines = [
      ...(columns.length > 1 ? [columns.map(([k]) => cell(k)).join('\t')] : []),
      ...Array.from({ length: n }, (_, i) =>
        columns.length ? columns.map(([, v]) => cell(v[i])).join('\t') : String(i),
      ),
    ];
    const metadataPath = `projector/${base}.metadata.tsv`;
    writeFileAtomic(join(dir, metadataPath), lines.join('\n') + '\n');
    const block = [
      'embeddings {',
      `  tensor_name: ${pbString(emb.name)}`,
      `  tensor_path: ${pbString(tensorPath)}`,
      `  metadata_path: ${pbString(metadataPath)}`,
      `  tensor_shape: ${n}`,
      `  tensor_shape: ${emb.dim}`,
    ];
    const cols = Math.ceil(Math.sqrt(n));
    if (emb.sprite && emb.sprite.tiles.length === n && cols * emb.sprite.size <= MAX_SPRITE) {
      // The projector reads a square grid of tiles, row-major, point i at tile i.
      const blank = new Uint8Array(emb.sprite.size * emb.sprite.size);
      const tiles = [...emb.sprite.tiles, ...new Array<Uint8Array>(cols * cols - n).fill(blank)];
      const sheet = tileGrey(tiles, emb.sprite.size, cols, 0, 0);
      const spritePath = `projector/${base}.sprite.png`;
      writeFileAtomic(join(dir, spritePath), encodeGreyPng(sheet.width, sheet.height, sheet.grey));
      block.push(
        '  sprite {',
        `    image_path: ${pbString(spritePath)}`,
        `    single_image_dim: ${emb.sprite.size}`,
        `    single_image_dim: ${emb.sprite.size}`,
        '  }',
      );
    }
    config.push([...block, '}'].join('\n'));
  }
  writeFileAtomic(join(dir, 'projector_config.pbtxt'), config.join('\n') + '\n');
  return embeddings.length;
}
