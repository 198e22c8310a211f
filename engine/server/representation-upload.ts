import type { IncomingMessage } from 'node:http';
import type { Factor, NoiseLevel, Snapshot } from '../../streams/events.js';
import type { SnapshotArrays } from '../store/snapshot-arrays.js';
import { HttpError } from './ingest-http.js';
import { readNpyArrays, type NdArray } from './npy.js';

/** How a representation snapshot is sent: JSON, or .npy arrays named by the query. */
export type RepresentationFormat =
  | { type: 'application/json' }
  | { type: 'application/x-npy'; factors: string[]; categorical: Set<string>; samplesOk: boolean };

const FACTOR_NAME = /^[\w.-]{1,100}$/;

function factorNames(text: string, what: string): string[] {
  const names = text.split(',').map((s) => s.trim());
  for (const name of names) {
    if (!FACTOR_NAME.test(name)) {
      throw new HttpError(
        400,
        `${what} must be comma-separated names of letters, digits, _ . - (got ${JSON.stringify(text.slice(0, 200))})`,
      );
    }
  }
  if (new Set(names).size !== names.length) {
    throw new HttpError(
      400,
      `${what} names a factor twice (got ${JSON.stringify(text.slice(0, 200))})`,
    );
  }
  return names;
}

/**
 * The representation format of an upload, or null for a bump snapshot: a JSON body, or .npy with
 * `?factors=a,b` (then `categorical=b` names the class factors and `samplesOk=1` says a verdict
 * array follows).
 */
export function representationFormat(
  req: IncomingMessage,
  query: URLSearchParams,
): RepresentationFormat | null {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'application/json') return { type };
  const factors = query.get('factors');
  if (type !== 'application/x-npy' || factors === null) return null;
  const names = factorNames(factors, 'factors');
  const categorical = new Set(
    query.get('categorical') ? factorNames(query.get('categorical') ?? '', 'categorical') : [],
  );
  for (const name of categorical) {
    if (!names.includes(name)) {
      throw new HttpError(400, `categorical names ${name}, which is not among factors=${factors}`);
    }
  }
  const ok = query.get('samplesOk');
  if (ok !== null && ok !== '0' && ok !== '1') {
    throw new HttpError(400, `samplesOk must be 0 or 1 in the query (got ${JSON.stringify(ok)})`);
  }
  return { type, factors: names, categorical, samplesOk: ok === '1' };
}

/** A JSON field that must be an array of finite numbers (or true/false where `bools`). */
function numbers(v: unknown, what: string, n: number, bools = false): Float32Array {
  if (!Array.isArray(v) || v.length !== n) {
    const got = Array.isArray(v) ? `${v.length} values` : typeof v;
    throw new HttpError(
      400,
      `${what} must be an array of N = ${n} ${bools ? 'numbers or booleans' : 'numbers'} (got ${got})`,
    );
  }
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const x: unknown = v[i];
    const num = bools && typeof x === 'boolean' ? Number(x) : x;
    if (typeof num !== 'number' || !Number.isFinite(num)) {
      throw new HttpError(400, `${what}[${i}] must be a finite number (got ${JSON.stringify(x)})`);
    }
    out[i] = num;
  }
  return out;
}

/** Class indices of a factor sent as strings (sorted names → 0..K-1) or integers >= 0. */
function classesOf(v: unknown[], what: string): Float32Array {
  if (v.every((x) => typeof x === 'string')) {
    const names = [...new Set(v)].sort();
    return Float32Array.from(v, (x) => names.indexOf(x));
  }
  const out = numbers(v, what, v.length);
  const bad = out.findIndex((x) => !Number.isInteger(x) || x < 0 || x > 100_000);
  if (bad >= 0) {
    throw new HttpError(
      400,
      `${what} is categorical: its values must be class indices 0..100000 or all strings (got ${out[bad]} at ${bad})`,
    );
  }
  return out;
}

/** The activations of a JSON body: N rows of D numbers. */
function activationsOf(v: unknown): { data: Float32Array; n: number; dim: number } {
  const accepted =
    'activations must be N >= 1 rows of D >= 1 numbers, e.g. [[0.1, 0.2], [0.3, 0.4]]';
  if (!Array.isArray(v) || v.length === 0 || !Array.isArray(v[0]) || v[0].length === 0) {
    throw new HttpError(400, accepted);
  }
  const n = v.length;
  const dim = (v[0] as unknown[]).length;
  const data = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const row: unknown = v[i];
    if (!Array.isArray(row) || row.length !== dim) {
      throw new HttpError(
        400,
        `activations[${i}] must hold D = ${dim} numbers like row 0 (${accepted})`,
      );
    }
    for (let j = 0; j < dim; j++) {
      const x: unknown = row[j];
      if (typeof x !== 'number' || !Number.isFinite(x)) {
        throw new HttpError(
          400,
          `activations[${i}][${j}] must be a finite number (got ${JSON.stringify(x)})`,
        );
      }
      data[i * dim + j] = x;
    }
  }
  return { data, n, dim };
}

/** A representation snapshot from a JSON body: `{activations, factors, categorical?, samplesOk?}`. */
function fromJson(body: Buffer): Omit<Snapshot, 'runId' | 'step'> {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new HttpError(400, `body is not valid JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new HttpError(
      400,
      'body must be an object {activations, factors, categorical?, samplesOk?}',
    );
  }
  const o = json as Record<string, unknown>;
  const unknownKey = Object.keys(o).find(
    (k) => !['activations', 'factors', 'categorical', 'samplesOk', 'noiseLevels'].includes(k),
  );
  if (unknownKey !== undefined) {
    throw new HttpError(
      400,
      `body.${unknownKey.slice(0, 100)} is not a field (accepted: activations, factors, categorical, samplesOk, noiseLevels)`,
    );
  }
  const { data, n, dim } = activationsOf(o.activations);
  const categorical = o.categorical ?? [];
  if (!Array.isArray(categorical) || categorical.some((c) => typeof c !== 'string')) {
    throw new HttpError(400, 'categorical must be an array of factor names');
  }
  if (o.factors === null || typeof o.factors !== 'object' || Array.isArray(o.factors)) {
    throw new HttpError(
      400,
      'factors must be an object of N values per factor name, e.g. {"angle": [...]}',
    );
  }
  const entries = Object.entries(o.factors as Record<string, unknown>);
  if (entries.length === 0) throw new HttpError(400, 'factors must name at least one factor');
  if (entries.length > 64)
    throw new HttpError(400, `factors must name at most 64 factors (got ${entries.length})`);
  const factors: Record<string, Factor> = {};
  for (const [name, values] of entries) {
    if (!FACTOR_NAME.test(name)) {
      throw new HttpError(
        400,
        `factors: ${JSON.stringify(name.slice(0, 100))} is not a name of letters, digits, _ . -`,
      );
    }
    if (!Array.isArray(values) || values.length !== n) {
      const got = Array.isArray(values) ? `${values.length} values` : typeof values;
      throw new HttpError(
        400,
        `factors.${name} must be an array of N = ${n} values, one per activation row (got ${got})`,
      );
    }
    const isClass = categorical.includes(name) || values.every((x) => typeof x === 'string');
    factors[name] = isClass
      ? { values: classesOf(values, `factors.${name}`), categorical: true }
      : { values: numbers(values, `factors.${name}`, n) };
  }
  for (const c of categorical as string[]) {
    if (!(c in factors))
      throw new HttpError(
        400,
        `categorical names ${c.slice(0, 100)}, which is not among the factors`,
      );
  }
  const samplesOk =
    o.samplesOk === undefined ? undefined : numbers(o.samplesOk, 'samplesOk', n, true);
  const noiseLevels = o.noiseLevels === undefined ? undefined : noiseLevelsOf(o.noiseLevels, n);
  return { ...repr(data, dim, factors, samplesOk), ...(noiseLevels ? { noiseLevels } : {}) };
}

/** `noiseLevels`: up to 64 of `{t, activations}`, each N rows of the sample's activations at t. */
function noiseLevelsOf(v: unknown, n: number): NoiseLevel[] {
  const accepted = 'noiseLevels must be an array of at most 64 {t: number, activations: N rows}';
  if (!Array.isArray(v) || v.length > 64) throw new HttpError(400, accepted);
  return v.map((level: unknown, i) => {
    if (level === null || typeof level !== 'object' || Array.isArray(level)) {
      throw new HttpError(400, `noiseLevels[${i}]: ${accepted}`);
    }
    const { t, activations, ...rest } = level as Record<string, unknown>;
    const extra = Object.keys(rest)[0];
    if (extra !== undefined) {
      throw new HttpError(
        400,
        `noiseLevels[${i}].${extra.slice(0, 100)} is not a field (accepted: t, activations)`,
      );
    }
    if (typeof t !== 'number' || !Number.isFinite(t)) {
      throw new HttpError(
        400,
        `noiseLevels[${i}].t must be a finite number (got ${JSON.stringify(t)})`,
      );
    }
    let a: ReturnType<typeof activationsOf>;
    try {
      a = activationsOf(activations);
    } catch (err) {
      throw new HttpError(400, `noiseLevels[${i}].${(err as Error).message}`);
    }
    if (a.n !== n) {
      throw new HttpError(
        400,
        `noiseLevels[${i}].activations must hold N = ${n} rows, one per sample (got ${a.n})`,
      );
    }
    return { t, activations: a.data, dim: a.dim };
  });
}

function repr(
  activations: Float32Array,
  dim: number,
  factors: Record<string, Factor>,
  samplesOk?: Float32Array,
): Omit<Snapshot, 'runId' | 'step'> {
  return {
    size: 0,
    labels: new Float32Array(0),
    images: new Float32Array(0),
    activations,
    dim,
    factors,
    ...(samplesOk ? { samplesOk } : {}),
  };
}

/** A representation snapshot from .npy arrays: activations (N, D, ...), factors (N, F), samples_ok (N,). */
function fromNpy(
  body: Buffer,
  f: Extract<RepresentationFormat, { type: 'application/x-npy' }>,
): Omit<Snapshot, 'runId' | 'step'> {
  let arrays: Record<string, NdArray>;
  try {
    arrays = readNpyArrays(body, [
      'activations',
      'factors',
      ...(f.samplesOk ? ['samples_ok'] : []),
    ]);
  } catch (err) {
    throw new HttpError(400, (err as Error).message);
  }
  const { activations: act, factors: fac, samples_ok: ok } = arrays;
  const n = act.shape[0];
  if (act.shape.length < 2 || !(n >= 1) || act.data.length === 0) {
    throw new HttpError(
      400,
      `activations must have shape (N, D, ...) with N, D >= 1 (got (${act.shape.join(', ')}))`,
    );
  }
  const bad = act.data.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    throw new HttpError(
      400,
      `activations hold a non-finite value at flat index ${bad} (${act.data[bad]})`,
    );
  }
  const k = f.factors.length;
  const fits =
    fac.shape[0] === n &&
    (fac.shape.length === 2 ? fac.shape[1] === k : fac.shape.length === 1 && k === 1);
  if (!fits) {
    throw new HttpError(
      400,
      `factors must have shape (N=${n}, ${k}) for factors=${f.factors.join(',')} (got (${fac.shape.join(', ')}))`,
    );
  }
  const factors: Record<string, Factor> = {};
  f.factors.forEach((name, j) => {
    const values = Float32Array.from({ length: n }, (_, i) => fac.data[i * k + j]);
    const what = `factors column ${j} (${name})`;
    factors[name] = f.categorical.has(name)
      ? { values: classesOf(Array.from(values), what), categorical: true }
      : { values: numbers(Array.from(values), what, n) };
  });
  let samplesOk: Float32Array | undefined;
  if (ok) {
    if (ok.data.length !== n) {
      throw new HttpError(
        400,
        `samples_ok must hold N = ${n} values (got shape (${ok.shape.join(', ')}))`,
      );
    }
    samplesOk = numbers(Array.from(ok.data), 'samples_ok', n);
  }
  return repr(act.data, act.data.length / n, factors, samplesOk);
}

/**
 * A representation snapshot uploaded to `POST /api/runs/<runId>/snapshots?step=N` (400 with the
 * field and what is accepted when it is not one).
 */
export function decodeRepresentation(
  body: Buffer,
  format: RepresentationFormat,
  runId: string,
  step: number,
): Snapshot {
  const s = format.type === 'application/json' ? fromJson(body) : fromNpy(body, format);
  return { runId, step, ...s };
}

/**
 * What the run store keeps of a representation snapshot in `snapshots/<step>.bin`: the factors
 * as `labels` (N*F, in the order of `snapshot.factors`), the sample verdicts as `images` (N, or
 * none) and the activations.
 */
export function representationArrays(s: Snapshot): SnapshotArrays {
  const factors = Object.values(s.factors ?? {});
  const n = factors[0]?.values.length ?? 0;
  const labels = new Float32Array(n * factors.length);
  for (let i = 0; i < n; i++) {
    factors.forEach((f, j) => (labels[i * factors.length + j] = f.values[i]));
  }
  return { labels, images: s.samplesOk ?? new Float32Array(0), activations: s.activations };
}
