import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 as zlibCrc32, inflateSync } from 'node:zlib';
import { crc32c, maskedCrc32c } from '../../../engine/export/crc32c.js';
import { exportTensorBoard } from '../../../engine/export/tensorboard.js';
import { scalarSeries } from '../../../engine/export/scalars.js';
import { readRunEvents } from '../../../streams/replay.js';
import { fakeRun } from './fake-run.js';

// An independent reader: bitwise CRC-32C (no table) and a protobuf decoder written for the test.
function crcBitwise(bytes: Uint8Array): number {
  let c = ~0 >>> 0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0x82f63b78 & -(c & 1));
  }
  return ~c >>> 0;
}
function mask(c: number): number {
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0;
}

/** Splits a TFRecord file, checking every length and masked CRC; throws on the first bad one. */
function readRecords(buf: Uint8Array): Uint8Array[] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: Uint8Array[] = [];
  let o = 0;
  while (o < buf.length) {
    if (o + 12 > buf.length) throw new Error(`truncated header at ${o}`);
    const len = Number(view.getBigUint64(o, true));
    if (view.getUint32(o + 8, true) !== mask(crcBitwise(buf.subarray(o, o + 8)))) {
      throw new Error(`bad length crc at ${o}`);
    }
    const data = buf.subarray(o + 12, o + 12 + len);
    if (data.length !== len || o + 16 + len > buf.length)
      throw new Error(`truncated record at ${o}`);
    if (view.getUint32(o + 12 + len, true) !== mask(crcBitwise(data))) {
      throw new Error(`bad data crc at ${o}`);
    }
    out.push(data);
    o += 16 + len;
  }
  return out;
}

type Field = { n: number; wire: number; v: bigint | Uint8Array | DataView };
function decode(buf: Uint8Array): Field[] {
  const fields: Field[] = [];
  let o = 0;
  const varint = (): bigint => {
    let r = 0n;
    let s = 0n;
    for (;;) {
      const b = buf[o++];
      r |= BigInt(b & 0x7f) << s;
      s += 7n;
      if (!(b & 0x80)) return r;
    }
  };
  while (o < buf.length) {
    const key = Number(varint());
    const n = key >> 3;
    const wire = key & 7;
    if (wire === 0) fields.push({ n, wire, v: varint() });
    else if (wire === 1 || wire === 5) {
      const len = wire === 1 ? 8 : 4;
      fields.push({ n, wire, v: new DataView(buf.buffer, buf.byteOffset + o, len) });
      o += len;
    } else if (wire === 2) {
      const len = Number(varint());
      fields.push({ n, wire, v: buf.subarray(o, o + len) });
      o += len;
    } else throw new Error(`unexpected wire type ${wire}`);
  }
  if (o !== buf.length) throw new Error('message overran its bytes');
  return fields;
}
const one = (fs: Field[], n: number) => fs.find((f) => f.n === n)?.v;
const text = (v: unknown) => new TextDecoder().decode(v as Uint8Array);

interface Parsed {
  wallTime: number;
  step?: number;
  fileVersion?: string;
  tag?: string;
  value?: number;
  image?: { height: number; width: number; colorspace: number; png: Uint8Array };
}
function parseEvent(data: Uint8Array): Parsed {
  const fs = decode(data);
  const wall = one(fs, 1) as DataView;
  const step = one(fs, 2) as bigint | undefined;
  const version = one(fs, 3);
  const summary = one(fs, 5) as Uint8Array | undefined;
  const out: Parsed = { wallTime: wall.getFloat64(0, true) };
  if (step !== undefined) out.step = Number(step);
  if (version) out.fileVersion = text(version);
  if (summary) {
    const values = decode(summary).filter((f) => f.n === 1);
    expect(values).to.have.length(1);
    const vf = decode(values[0].v as Uint8Array);
    out.tag = text(one(vf, 1));
    const sv = vf.find((f) => f.n === 2);
    const img = one(vf, 4) as Uint8Array | undefined;
    if (img) {
      const im = decode(img);
      out.image = {
        height: Number(one(im, 1)),
        width: Number(one(im, 2)),
        colorspace: Number(one(im, 3)),
        png: one(im, 4) as Uint8Array,
      };
    } else {
      expect(sv?.wire).to.equal(5);
      out.value = (sv?.v as DataView).getFloat32(0, true);
    }
  }
  return out;
}

/** Reads an 8-bit greyscale PNG, checking the signature and every chunk's CRC (zlib's own). */
function readPng(png: Uint8Array): { width: number; height: number; grey: number[] } {
  const b = Buffer.from(png);
  expect([...b.subarray(0, 8)]).to.deep.equal([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let o = 8;
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  for (;;) {
    const len = b.readUInt32BE(o);
    const type = b.toString('latin1', o + 4, o + 8);
    expect(b.readUInt32BE(o + 8 + len), `${type} crc`).to.equal(
      zlibCrc32(b.subarray(o + 4, o + 8 + len)),
    );
    const data = b.subarray(o + 8, o + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect([data[8], data[9]]).to.deep.equal([8, 0]);
    } else if (type === 'IDAT') idat.push(data);
    o += 12 + len;
    if (type === 'IEND') break;
  }
  expect(o).to.equal(b.length);
  const raw = inflateSync(Buffer.concat(idat));
  const grey: number[] = [];
  for (let r = 0; r < height; r++) {
    expect(raw[r * (width + 1)]).to.equal(0);
    grey.push(...raw.subarray(r * (width + 1) + 1, (r + 1) * (width + 1)));
  }
  return { width, height, grey };
}

describe('engine/export/tensorboard', () => {
  let run: ReturnType<typeof fakeRun>;
  let outDir: string;
  beforeEach(() => {
    run = fakeRun();
    outDir = join(run.runsDir, 'tb');
  });
  afterEach(() => rmSync(run.runsDir, { recursive: true, force: true }));

  it('computes CRC-32C and its TFRecord mask as the reference does', () => {
    const digits = new TextEncoder().encode('123456789');
    expect(crc32c(digits)).to.equal(0xe3069283);
    expect(crc32c(new Uint8Array(0))).to.equal(0);
    for (const bytes of [
      digits,
      new Uint8Array(32).fill(0xff),
      Uint8Array.from({ length: 300 }, (_, i) => i * 7),
    ]) {
      expect(crc32c(bytes)).to.equal(crcBitwise(bytes));
      expect(maskedCrc32c(bytes)).to.equal(mask(crcBitwise(bytes)));
    }
  });

  it('writes an event file whose records all have right lengths and masked CRCs', () => {
    const r = exportTensorBoard(run.runDir, outDir);
    expect(r.dir).to.equal(join(outDir, 'r1'));
    const files = readdirSync(r.dir).filter((f) => f.startsWith('events.out.tfevents.'));
    expect(files).to.deep.equal([
      `events.out.tfevents.${Math.floor(Date.parse(readMeta(run.runDir).createdAt) / 1000)}.phasewatch`,
    ]);
    const records = readRecords(readFileSync(r.eventFile));
    expect(records).to.have.length(1 + r.scalars + r.images);
    expect(r.images).to.equal(2);
    const first = parseEvent(records[0]);
    expect(first.fileVersion).to.equal('brain.Event:2');
    expect(first.step).to.equal(undefined);
  });

  it('parses the scalars back: tags, steps, wall times and float32 values', () => {
    const r = exportTensorBoard(run.runDir, outDir);
    const parsed = readRecords(readFileSync(r.eventFile))
      .slice(1)
      .map(parseEvent)
      .filter((p) => !p.image);
    const expected = scalarSeries(readRunEvents(run.runDir));
    expect(parsed.map((p) => [p.tag, p.step, p.value])).to.deep.equal(
      expected.map((p) => [p.name, p.step, Math.fround(p.value)]),
    );
    expect(parsed.map((p) => p.wallTime)).to.deep.equal(expected.map((p) => p.time / 1000));
    const byTag = (tag: string) =>
      parsed.filter((p) => p.tag === tag).map((p) => [p.step, p.value]);
    expect(byTag('train/loss')).to.deep.equal([1, 2, 3, 4].map((s) => [s, Math.fround(1 / s)]));
    expect(byTag('probe/acc/layer=4')).to.deep.equal([[2, 0.75]]);
    expect(byTag('odd,"name"')).to.deep.equal([[4, -2]]);
    expect(byTag('phase/index')).to.deep.equal([[4, 1]]);
    expect(byTag('phase/raw-index')).to.deep.equal([[4, 2]]);
    expect(byTag('phase/r2')).to.deep.equal([[4, Math.fround(0.7)]]);
  });

  it('writes images events and assessment samples as greyscale PNG image summaries', () => {
    const r = exportTensorBoard(run.runDir, outDir);
    const images = readRecords(readFileSync(r.eventFile))
      .map(parseEvent)
      .filter((p) => p.image);
    expect(images.map((p) => [p.tag, p.step, p.image?.width, p.image?.height])).to.deep.equal([
      ['phase/samples', 4, 9, 4],
      ['grid', 4, 5, 5],
    ]);
    for (const p of images) {
      expect(p.image?.colorspace).to.equal(1);
      const png = readPng(p.image?.png as Uint8Array);
      expect([png.width, png.height]).to.deep.equal([p.image?.width, p.image?.height]);
    }
    // 3 thumbs of 2x2 in a 2x2 grid with 1-pixel white gaps; the empty fourth cell is white.
    // prettier-ignore
    expect(readPng(images[1].image?.png as Uint8Array).grey).to.deep.equal([
      0, 255, 255, 1, 2,
      255, 0, 255, 3, 4,
      255, 255, 255, 255, 255,
      9, 9, 255, 255, 255,
      9, 9, 255, 255, 255,
    ]);
  });

  it('the reader rejects a record with one flipped bit (the check can fail)', () => {
    const r = exportTensorBoard(run.runDir, outDir);
    const bytes = new Uint8Array(readFileSync(r.eventFile));
    bytes[bytes.length - 6] ^= 0x10;
    expect(() => readRecords(bytes)).to.throw(/bad data crc/);
    const cut = new Uint8Array(readFileSync(r.eventFile)).subarray(0, bytes.length - 3);
    expect(() => readRecords(cut)).to.throw(/truncated/);
  });

  it('writes a projector config with tensors and metadata TSVs of matching shapes', () => {
    const r = exportTensorBoard(run.runDir, outDir);
    expect(r.embeddings).to.equal(2);
    const config = readFileSync(join(r.dir, 'projector_config.pbtxt'), 'utf8');
    const blocks = config
      .split(/^embeddings \{$/m)
      .slice(1)
      .map((body) => {
        const get = (k: string) =>
          [...body.matchAll(new RegExp(`${k}: (.*)`, 'g'))].map((x) => x[1]);
        return {
          name: JSON.parse(get('tensor_name')[0]) as string,
          tensor: JSON.parse(get('tensor_path')[0]) as string,
          metadata: JSON.parse(get('metadata_path')[0]) as string,
          shape: get('tensor_shape').map(Number),
          sprite: get('image_path').map((p) => JSON.parse(p) as string)[0],
          spriteDim: get('single_image_dim').map(Number),
        };
      });
    expect(blocks.map((b) => [b.name, b.shape])).to.deep.equal([
      ['activations/step-4', [3, 5]],
      ['assessment/step-4', [3, 3]],
    ]);
    const act = blocks[0];
    expect(act.sprite).to.equal('projector/activations_step-4.sprite.png');
    expect(blocks[1].sprite).to.equal('projector/assessment_step-4.sprite.png');
    expect(act.spriteDim).to.deep.equal([4, 4]);
    // 3 samples of 4x4 in a square 2x2 grid, point i at tile i; sample 0 has its bump at (0, 1).
    const sheet = readPng(readFileSync(join(r.dir, act.sprite)));
    expect([sheet.width, sheet.height]).to.deep.equal([8, 8]);
    expect(sheet.grey[1 * 8 + 0]).to.equal(255);
    expect(sheet.grey[0]).to.equal(0);
    expect(sheet.grey.slice(4 * 8 + 4).every((x) => x === 0)).to.equal(true);
    const rows = readFileSync(join(r.dir, act.tensor), 'utf8').trimEnd().split('\n');
    expect(rows.map((l) => l.split('\t').map(Number))).to.deep.equal([
      [0, 0.1, 0.2, 0.3, 0.4],
      [0.5, 0.6, 0.7, 0.8, 0.9],
      [1, 1.1, 1.2, 1.3, 1.4],
    ]);
    const meta = readFileSync(join(r.dir, act.metadata), 'utf8').trimEnd().split('\n');
    expect(meta).to.deep.equal(['label_x\tlabel_y\tbumps', '0\t1\t1', '2\t3\t0', '1.5\t2.5\t0']);
    const ass = readFileSync(join(r.dir, blocks[1].metadata), 'utf8').trimEnd().split('\n');
    expect(ass[0]).to.equal('label_x\tlabel_y\tphase');
    expect(ass.slice(1).map((l) => l.split('\t')[2])).to.deep.equal(['B', 'B', 'B']);
  });

  it('exporting again replaces the earlier export instead of adding to it', () => {
    const r1 = exportTensorBoard(run.runDir, outDir);
    writeFileSync(join(r1.dir, 'events.out.tfevents.1.stale'), 'x');
    const r2 = exportTensorBoard(run.runDir, outDir);
    expect(readdirSync(r2.dir).filter((f) => f.includes('tfevents'))).to.have.length(1);
    expect(existsSync(join(r2.dir, 'projector', 'activations_step-4.tsv'))).to.equal(true);
  });

  it('names the runDir when it is not a run', () => {
    expect(() => exportTensorBoard(join(run.runsDir, 'nope'), outDir)).to.throw(/runDir .*nope/);
  });
});

function readMeta(runDir: string): { createdAt: string } {
  return JSON.parse(readFileSync(join(runDir, 'meta.json'), 'utf8')) as { createdAt: string };
}
