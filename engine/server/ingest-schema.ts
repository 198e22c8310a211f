import { z } from 'zod';
import type { EventInput } from '../../streams/events.js';

/** What the ingest API accepts of each event kind (the generic kinds, plus `step` for the loss chart). */
const step = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const finite = z.number().finite();
const name = z.string().min(1).max(200);
/** The client's number of an event: events it already has are dropped (a batch sent again). */
export const clientSeq = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const base = {
  step,
  time: finite.optional(),
  runId: z.string().optional(),
  clientSeq: clientSeq.optional(),
};

const metric = z
  .object({
    ...base,
    type: z.literal('metric'),
    name,
    value: finite,
    tags: z.record(z.string().max(200)).optional(),
  })
  .strict();

const curve = z
  .object({
    ...base,
    type: z.literal('curve'),
    name,
    x: z.array(finite).max(100_000),
    y: z.array(finite).max(100_000),
    xLabel: z.string().max(200).optional(),
    yLabel: z.string().max(200).optional(),
  })
  .strict()
  .refine((e) => e.x.length === e.y.length, {
    message: 'x and y must have the same length',
    path: ['y'],
  });

const matrix = z
  .object({
    ...base,
    type: z.literal('matrix'),
    name,
    rows: z.number().int().min(1).max(10_000),
    cols: z.number().int().min(1).max(10_000),
    values: z.array(finite),
    rowLabels: z.array(z.string().max(200)).optional(),
    colLabels: z.array(z.string().max(200)).optional(),
  })
  .strict()
  .superRefine((e, ctx) => {
    if (e.values.length !== e.rows * e.cols) {
      ctx.addIssue({
        code: 'custom',
        path: ['values'],
        message: `must hold rows*cols = ${e.rows * e.cols} values`,
      });
    }
    if (e.rowLabels && e.rowLabels.length !== e.rows) {
      ctx.addIssue({
        code: 'custom',
        path: ['rowLabels'],
        message: `must hold rows = ${e.rows} labels`,
      });
    }
    if (e.colLabels && e.colLabels.length !== e.cols) {
      ctx.addIssue({
        code: 'custom',
        path: ['colLabels'],
        message: `must hold cols = ${e.cols} labels`,
      });
    }
  });

const POINTS_ACCEPTED = 'must be N×3 numbers: N rows [x, y, z] or a flat [x, y, z, x, y, z, …]';

/**
 * An embedding's points as the store keeps them (flat, N*3), from either form docs/events.md
 * shows: N rows `[x, y, z]` or a flat list of N*3 numbers.
 */
const points = z.unknown().transform((v, ctx): number[] => {
  const fail = (message: string, path: (string | number)[] = []): never => {
    ctx.addIssue({ code: 'custom', message, path });
    return z.NEVER;
  };
  if (!Array.isArray(v) || v.length === 0) return fail(POINTS_ACCEPTED);
  const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
  if (Array.isArray(v[0])) {
    const flat: number[] = [];
    for (let i = 0; i < v.length; i++) {
      const row: unknown = v[i];
      if (!Array.isArray(row) || row.length !== 3 || !row.every(isNum)) {
        return fail(`${POINTS_ACCEPTED}; row ${i} is not 3 finite numbers`, [i]);
      }
      flat.push(...row);
    }
    return flat;
  }
  const bad = v.findIndex((x) => !isNum(x));
  if (bad >= 0) return fail(`${POINTS_ACCEPTED}; item ${bad} is not a finite number`, [bad]);
  if (v.length % 3 !== 0) return fail(`${POINTS_ACCEPTED} (got ${v.length} values)`);
  return v as number[];
});

const embedding = z
  .object({
    ...base,
    type: z.literal('embedding'),
    name,
    points,
    colourBy: z.record(z.array(finite)),
  })
  .strict()
  .superRefine((e, ctx) => {
    const n = e.points.length / 3;
    for (const [k, v] of Object.entries(e.colourBy)) {
      if (v.length !== n) {
        ctx.addIssue({
          code: 'custom',
          path: ['colourBy', k],
          message: `must hold N = ${n} values`,
        });
      }
    }
  });

const thumb = z
  .object({
    pixels: z.array(z.number().int().min(0).max(255)),
    caption: z.string().max(200).optional(),
    marks: z
      .array(z.object({ x: finite, y: finite, kind: z.string().max(50).optional() }).strict())
      .max(100)
      .optional(),
  })
  .strict();

const images = z
  .object({
    ...base,
    type: z.literal('images'),
    name,
    size: z.number().int().min(1).max(512),
    thumbs: z.array(thumb).min(1).max(256),
  })
  .strict()
  .superRefine((e, ctx) => {
    e.thumbs.forEach((t, i) => {
      if (t.pixels.length !== e.size * e.size) {
        ctx.addIssue({
          code: 'custom',
          path: ['thumbs', i, 'pixels'],
          message: `must hold size*size = ${e.size * e.size} grey levels`,
        });
      }
    });
  });

const alert = z
  .object({
    ...base,
    type: z.literal('alert'),
    level: z.enum(['info', 'warning', 'error']),
    message: z.string().min(1).max(2000),
  })
  .strict();

const trainStep = z
  .object({
    ...base,
    type: z.literal('step'),
    loss: finite,
    examplesPerSec: finite.nonnegative().optional(),
  })
  .strict();

const SCHEMAS: Record<string, z.ZodTypeAny> = {
  metric,
  curve,
  matrix,
  embedding,
  images,
  alert,
  step: trainStep,
};

/** The kinds an ingest client may append. */
export const INGEST_KINDS = Object.keys(SCHEMAS);

/** The value at `path` of `input`, shortened for an error line. */
function shown(input: unknown, path: (string | number)[]): string {
  let v: unknown = input;
  for (const k of path)
    v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  const s = v === undefined ? 'nothing' : JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** `events[2].thumbs[0].pixels` */
function pathText(prefix: string, path: (string | number)[]): string {
  return path.reduce<string>(
    (s, k) =>
      typeof k === 'number'
        ? `${s}[${k}]`
        : /^[A-Za-z_]\w*$/.test(k)
          ? `${s}.${k}`
          : `${s}[${JSON.stringify(k)}]`,
    prefix,
  );
}

/** The first problem zod found, in one line naming the field, the value and what is accepted. */
export function zodError(prefix: string, input: unknown, error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue.code === 'unrecognized_keys') {
    return `${pathText(prefix, issue.path)}: unknown field ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
  }
  return `${pathText(prefix, issue.path)}: ${issue.message} (got ${shown(input, issue.path)})`;
}

/**
 * Checks one event a client sent; returns it as the store takes it (no `runId`: the URL says
 * which run) or a one-line error.
 *
 * @example checkIngestEvent({ type: 'metric', name: 'loss', value: 0.1, step: 3 }, 'events[0]');
 */
export function checkIngestEvent(e: unknown, where: string): EventInput | string {
  if (e === null || typeof e !== 'object' || Array.isArray(e)) {
    return `${where}: must be an object with a type (got ${shown(e, [])})`;
  }
  const type = (e as { type?: unknown }).type;
  const schema = typeof type === 'string' ? SCHEMAS[type] : undefined;
  if (!schema) {
    return `${where}.type: must be one of ${INGEST_KINDS.join(', ')} (got ${shown(type, [])})`;
  }
  const r = schema.safeParse(e);
  if (!r.success) return zodError(where, e, r.error);
  const event = { ...(r.data as EventInput & { runId?: string }) };
  delete event.runId;
  if (event.type === 'step' && event.examplesPerSec === undefined) {
    return { ...event, examplesPerSec: 0 };
  }
  return event;
}

/** What `POST /api/runs` accepts. */
export const createRunSchema = z
  .object({
    name: z.string().min(1).max(200).optional(),
    runId: z.string().optional(),
    tags: z.array(z.string().min(1).max(100)).max(50).optional(),
    notes: z.string().max(10_000).optional(),
    backend: z.string().min(1).max(100).optional(),
    config: z.record(z.unknown()).optional(),
    assess: z
      .object({
        confirm: z.number().int().min(1).max(100).optional(),
        embed: z.enum(['umap', 'pca']).optional(),
        seed: finite.optional(),
        tol: z.number().positive().finite().optional(),
        representation: z
          .object({
            maxDimRatio: z.number().min(1).finite(),
            maxChanceStructure: z.number().min(0).max(1),
            minSamplesOk: z.number().min(0).max(1),
            minOrdering: z.number().min(0).max(1),
            minStructure: z.number().min(0).max(1),
            minSamplesOkC: z.number().min(0).max(1),
          })
          .partial()
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/** What `POST /api/runs/<runId>/reopen` accepts: how its snapshots are assessed from now on. */
export const reopenSchema = createRunSchema.pick({ assess: true });

/** What `POST /api/runs/<runId>/finish` accepts (an empty body means completed). */
export const finishSchema = z
  .object({
    status: z.enum(['completed', 'failed', 'stopped']).optional(),
    error: z.string().max(2000).optional(),
  })
  .strict();
