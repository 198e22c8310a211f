import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { RunEvent } from '../../streams/events.js';
import { readRunEvents } from '../../streams/replay.js';
import { readRunMeta, writeFileAtomic } from '../store/run-store.js';
import { encodeGreyPng, tileGrey } from './png.js';
import { runEmbeddings, writeProjector } from './projector.js';
import { ProtobufWriter } from './protobuf-writer.js';
import { scalarSeries, type ScalarPoint } from './scalars.js';
import { tfRecord } from './tfrecord.js';

// Field numbers of tensorflow/core/util/event.proto and framework/summary.proto.
const EVENT_WALL_TIME = 1;
const EVENT_STEP = 2;
const EVENT_FILE_VERSION = 3;
const EVENT_SUMMARY = 5;
const SUMMARY_VALUE = 1;
const VALUE_TAG = 1;
const VALUE_SIMPLE_VALUE = 2;
const VALUE_IMAGE = 4;
const IMAGE_HEIGHT = 1;
const IMAGE_WIDTH = 2;
const IMAGE_COLORSPACE = 3;
const IMAGE_ENCODED = 4;
const GREYSCALE = 1;

/** A grid of grey images at one step, for TensorBoard's images tab. */
export interface ImagePoint {
  step: number;
  time: number;
  name: string;
  width: number;
  height: number;
  /** width*height grey levels, row-major. */
  grey: Uint8Array;
}

/** The `Event` that opens every TensorBoard event file. */
export function fileVersionEvent(wallTimeSec: number): Uint8Array {
  return new ProtobufWriter()
    .double(EVENT_WALL_TIME, wallTimeSec)
    .bytes(EVENT_FILE_VERSION, 'brain.Event:2')
    .finish();
}

/** An `Event` holding one scalar `Summary.Value` (`simple_value`, a float32). */
export function scalarEvent(p: ScalarPoint): Uint8Array {
  const value = new ProtobufWriter().bytes(VALUE_TAG, p.name).float(VALUE_SIMPLE_VALUE, p.value);
  return new ProtobufWriter()
    .double(EVENT_WALL_TIME, p.time / 1000)
    .varint(EVENT_STEP, Math.trunc(p.step))
    .bytes(EVENT_SUMMARY, new ProtobufWriter().bytes(SUMMARY_VALUE, value))
    .finish();
}

/** An `Event` holding one image `Summary.Value` (a greyscale PNG). */
export function imageEvent(p: ImagePoint): Uint8Array {
  const image = new ProtobufWriter()
    .varint(IMAGE_HEIGHT, p.height)
    .varint(IMAGE_WIDTH, p.width)
    .varint(IMAGE_COLORSPACE, GREYSCALE)
    .bytes(IMAGE_ENCODED, encodeGreyPng(p.width, p.height, p.grey));
  const value = new ProtobufWriter().bytes(VALUE_TAG, p.name).bytes(VALUE_IMAGE, image);
  return new ProtobufWriter()
    .double(EVENT_WALL_TIME, p.time / 1000)
    .varint(EVENT_STEP, Math.trunc(p.step))
    .bytes(EVENT_SUMMARY, new ProtobufWriter().bytes(SUMMARY_VALUE, value))
    .finish();
}

/**
 * The image grids of a run: each `images` event (tag: its name) and the sample thumbnails of
 * each `assessment` (tag `phase/samples`), tiled in a square grid with 1-pixel white gaps.
 */
export function imageSeries(events: readonly RunEvent[]): ImagePoint[] {
  const out: ImagePoint[] = [];
  const grid = (e: RunEvent, name: string, size: number, thumbs: ArrayLike<number>[]) => {
    const tiles = thumbs
      .filter((t) => t.length === size * size)
      .map((t) => Uint8Array.from(t, (v) => Math.min(255, Math.max(0, Math.round(v)))));
    if (tiles.length === 0 || !(size > 0)) return;
    const sheet = tileGrey(tiles, size, Math.ceil(Math.sqrt(tiles.length)), 1);
    out.push({ step: e.step, time: e.time, name, ...sheet });
  };
  for (const e of events) {
    if (e.type === 'images')
      grid(
        e,
        e.name,
        e.size,
        e.thumbs.map((t) => t.pixels),
      );
    else if (e.type === 'assessment')
      grid(
        e,
        'phase/samples',
        e.size,
        e.samples.map((t) => t.pixels),
      );
  }
  return out;
}

/** A whole event file: the file-version record, then one record per scalar and per image. */
export function eventFile(
  points: readonly ScalarPoint[],
  wallTimeSec: number,
  images: readonly ImagePoint[] = [],
): Uint8Array {
  const records = [
    fileVersionEvent(wallTimeSec),
    ...points.map(scalarEvent),
    ...images.map(imageEvent),
  ].map(tfRecord);
  const out = new Uint8Array(records.reduce((s, r) => s + r.length, 0));
  let o = 0;
  for (const r of records) {
    out.set(r, o);
    o += r.length;
  }
  return out;
}

export interface TensorBoardExport {
  /** `<outDir>/<runId>`: what `tensorboard --logdir <outDir>` lists as the run. */
  dir: string;
  eventFile: string;
  scalars: number;
  images: number;
  embeddings: number;
}

/**
 * Exports a stored run for TensorBoard into `<outDir>/<runId>/`: its scalars (`scalarSeries`)
 * and image grids (`imageSeries`) as an event file (TFRecord framing, masked CRC-32C) and its
 * embeddings (`runEmbeddings`) for the projector. Exporting again replaces the earlier export of that run.
 *
 * @example exportTensorBoard('runs/20261201-120000-abcd', 'tb'); // then: tensorboard --logdir tb
 */
export function exportTensorBoard(runDir: string, outDir: string): TensorBoardExport {
  const meta = readRunMeta(runDir);
  const events: RunEvent[] = readRunEvents(runDir);
  const dir = join(outDir, meta.runId);
  mkdirSync(dir, { recursive: true });
  for (const name of readdirSync(dir)) {
    if (name.startsWith('events.out.tfevents.') || name === 'projector_config.pbtxt') {
      rmSync(join(dir, name));
    }
  }
  rmSync(join(dir, 'projector'), { recursive: true, force: true });
  const created = Date.parse(meta.createdAt);
  const wall = (Number.isFinite(created) ? created : (events[0]?.time ?? Date.now())) / 1000;
  const points = scalarSeries(events);
  const file = join(dir, `events.out.tfevents.${Math.floor(wall)}.phasewatch`);
  const images = imageSeries(events);
  writeFileAtomic(file, eventFile(points, wall, images));
  const embeddings = writeProjector(dir, runEmbeddings(runDir, events));
  return { dir, eventFile: file, scalars: points.length, images: images.length, embeddings };
}
