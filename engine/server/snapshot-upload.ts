import type { IncomingMessage } from 'node:http';
import type { Snapshot } from '../../streams/events.js';
import { HttpError } from './ingest-http.js';
import { parseShapes, readNpyArrays, readRawFloat32, type NdArray } from './npy.js';

/** How a snapshot upload is encoded: .npy arrays back to back, or raw float32 with shapes. */
export interface UploadFormat {
  type: 'application/x-npy' | 'application/octet-stream';
  /** The shapes of the raw arrays (`x-phasewatch-shapes`); empty for .npy. */
  shapes: { name: string; shape: number[] }[];
}

/** The snapshot's step from the query (`?step=N`): an integer >= 0, else a 400. */
export function uploadStep(query: URLSearchParams): number {
  const stepText = query.get('step');
  const step = Number(stepText);
  if (stepText === null || stepText.trim() === '' || !Number.isSafeInteger(step) || step < 0) {
    throw new HttpError(
      400,
      `step must be an integer >= 0 in the query (got ${JSON.stringify(stepText)})`,
    );
  }
  return step;
}

/** The upload's encoding from its headers (415 or 400 when it is not one phasewatch reads). */
export function uploadFormat(req: IncomingMessage): UploadFormat {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/x-npy' && type !== 'application/octet-stream') {
    throw new HttpError(
      415,
      `content-type must be application/x-npy or application/octet-stream with x-phasewatch-shapes (bump images), or application/json (a representation snapshot) (got ${JSON.stringify(type)})`,
    );
  }
  let shapes: { name: string; shape: number[] }[] = [];
  if (type === 'application/octet-stream') {
    const header = req.headers['x-phasewatch-shapes'];
    if (typeof header !== 'string') {
      throw new HttpError(
        400,
        'x-phasewatch-shapes header is missing (e.g. labels=64x2; images=64x16x16; activations=64x256)',
      );
    }
    try {
      shapes = parseShapes(header);
    } catch (err) {
      throw new HttpError(400, `x-phasewatch-shapes: ${(err as Error).message}`);
    }
    const names = shapes
      .map((s) => s.name)
      .sort()
      .join(',');
    if (names !== 'activations,images,labels') {
      throw new HttpError(
        400,
        `x-phasewatch-shapes must name labels, images and activations once each (got ${shapes.map((s) => s.name).join(', ')})`,
      );
    }
  }
  return { type, shapes };
}

/** The uploaded body as the snapshot the assessment reads (400 with the reason when it is not one). */
export function decodeUpload(
  body: Buffer,
  format: UploadFormat,
  runId: string,
  step: number,
): Snapshot {
  const { type, shapes } = format;
  let arrays: Record<string, NdArray>;
  try {
    if (type === 'application/x-npy') {
      arrays = readNpyArrays(body, ['labels', 'images', 'activations']);
    } else {
      arrays = readRawFloat32(body, shapes);
    }
  } catch (err) {
    throw new HttpError(400, (err as Error).message);
  }
  return snapshotOf(runId, step, arrays);
}

/** Checks the uploaded arrays against each other; the snapshot the assessment reads. */
function snapshotOf(runId: string, step: number, a: Record<string, NdArray>): Snapshot {
  const { labels, images, activations } = a;
  const n = labels.shape[0];
  if (labels.shape.length !== 2 || labels.shape[1] !== 2 || !(n >= 1)) {
    throw new HttpError(
      400,
      `labels must have shape (N, 2) with N >= 1: the x and y of each sample in pixels (got (${labels.shape.join(', ')}))`,
    );
  }
  const px = images.data.length / n;
  if (images.shape[0] !== n || images.shape.length < 2 || px < 1) {
    throw new HttpError(
      400,
      `images must have shape (N=${n}, S, S), (N, 1, S, S) or (N, S*S) with S >= 1 (got (${images.shape.join(', ')}))`,
    );
  }
  const size = Math.round(Math.sqrt(px));
  if (size * size !== px) {
    throw new HttpError(
      400,
      `images must be square: ${px} values per image is not S*S (shape (${images.shape.join(', ')}))`,
    );
  }
  if (activations.shape[0] !== n || activations.shape.length < 2 || activations.data.length === 0) {
    throw new HttpError(
      400,
      `activations must have shape (N=${n}, D, ...) with D >= 1 (got (${activations.shape.join(', ')}))`,
    );
  }
  for (const [name, arr] of [
    ['labels', labels],
    ['images', images],
    ['activations', activations],
  ] as const) {
    const bad = arr.data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0)
      throw new HttpError(
        400,
        `${name} holds a non-finite value at flat index ${bad} (${arr.data[bad]})`,
      );
  }
  return {
    runId,
    step,
    size,
    labels: labels.data,
    images: images.data,
    activations: activations.data,
    dim: activations.data.length / n,
  };
}
