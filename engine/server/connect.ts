import type { Observer } from 'rxjs';
import type { EventInput, Factor, NoiseLevel } from '../../streams/events.js';
import type { RepresentationThresholds } from '../../operators/metrics/classify-representation.js';

export interface ConnectOptions {
  /** The server's token; default: the `?token=` of `url`, else `PHASEWATCH_TOKEN`. */
  token?: string;
  /** Called once with the first failure (default: one line on stderr). */
  onError?: (err: Error) => void;
}

/** What `POST /api/runs` takes (see `engine/server/ingest.ts`). */
export interface RemoteRunOptions {
  name?: string;
  runId?: string;
  config?: Record<string, unknown>;
  tags?: string[];
  notes?: string;
  /** What trains the model, shown as the run's backend (default `external`). */
  backend?: string;
  /** How uploaded snapshots are assessed. */
  assess?: {
    confirm?: number;
    embed?: 'umap' | 'pca';
    seed?: number;
    tol?: number;
    representation?: Partial<RepresentationThresholds>;
  };
}

/**
 * A representation snapshot of any model: activations of any layer with the generative
 * factors of each sample; the server assesses it by the generic rule (`assessRepresentation`).
 */
export interface RemoteRepresentation {
  /** N*dim, row-major. */
  activations: Float32Array;
  dim: number;
  /** N values per factor: numbers (continuous), or a `Factor` (`categorical`) or class names. */
  factors: Record<string, ArrayLike<number> | Factor | string[]>;
  /** N verdicts on the generated samples, 1 ok and 0 not (or a score in [0, 1]). */
  samplesOk?: ArrayLike<number>;
  /** The same samples' activations at several timesteps: noise-level probes (seed 002). */
  noiseLevels?: NoiseLevel[];
  /** Milliseconds the sampling took (shown with the snapshot). */
  sampleMs?: number;
}

/** One snapshot: N samples with their conditioning labels and a representation of each. */
export interface RemoteSnapshot {
  /** N*2: x and y of each sample in pixels. */
  labels: Float32Array;
  /** N*size*size grey images in [-1, 1]. */
  images: Float32Array;
  /** N*dim, row-major. */
  activations: Float32Array;
  dim: number;
  /** Milliseconds the sampling took (shown with the snapshot). */
  sampleMs?: number;
}

/** How the server ended the run. */
export interface RemoteRunEnd {
  runId: string;
  status: string;
  phase: string | null;
}

/**
 * A run on a phasewatch server, fed as an RxJS Observer: `next` appends an event (batched
 * into few requests, in order), `complete` finishes the run `completed` once every event and
 * snapshot is in and assessed, `error` finishes it `failed` with the error's message.
 */
export interface RemoteRun extends Observer<EventInput> {
  /** The id the server gave the run. */
  readonly runId: Promise<string>;
  /** Uploads a snapshot in order with the events; the server assesses its phase. */
  snapshot(step: number, s: RemoteSnapshot): Promise<void>;
  /** Uploads a representation snapshot (any model) in order with the events. */
  representation(step: number, s: RemoteRepresentation): Promise<void>;
  /** Settles when the run has ended on the server; rejects with the first failure. */
  readonly done: Promise<RemoteRunEnd>;
  /** Ends the run `stopped`, the reason (if any) in an alert before its end. */
  stop(reason?: string): void;
}

/**
 * Connects a training loop that is not phasewatch's to a phasewatch server (`phasewatch
 * serve`): events and snapshots go through the server's ingest API into its run store and
 * phase assessment, and show live in its dashboard.
 *
 * @example
 * const run = connect('http://127.0.0.1:4321/?token=…').run({ name: 'my loop' });
 * losses$.pipe(map((loss, step) => ({ type: 'metric', name: 'loss', value: loss, step }))).subscribe(run);
 * await run.snapshot(500, { labels, images, activations, dim: 64 });
 * await run.representation(500, { activations, dim: 64, factors: { angle } }); // any model
 */
export function connect(
  url: string,
  opts: ConnectOptions = {},
): { run(o?: RemoteRunOptions): RemoteRun } {
  let base: URL;
  try {
    base = new URL(url);
  } catch {
    throw new Error(
      `url must be an http(s) URL of a phasewatch server (got ${JSON.stringify(url)})`,
    );
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new Error(`url must be http:// or https:// (got ${JSON.stringify(url)})`);
  }
  const token = opts.token ?? base.searchParams.get('token') ?? process.env.PHASEWATCH_TOKEN;
  const endpoint = (path: string) => new URL(path, base.origin + '/').href;
  const call = async (
    path: string,
    body: string | Uint8Array<ArrayBuffer>,
    headers: Record<string, string>,
  ) => {
    const res = await fetch(endpoint(path), {
      method: 'POST',
      body,
      headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${path}: ${res.status} ${text.trim().split('\n')[0]}`);
    return JSON.parse(text) as unknown;
  };
  const json = (path: string, body: unknown) =>
    call(path, JSON.stringify(body), { 'content-type': 'application/json' });

  return {
    run(runOpts: RemoteRunOptions = {}): RemoteRun {
      const runId = json('/api/runs', runOpts).then((r) => (r as { runId: string }).runId);
      let chain: Promise<unknown> = runId;
      let failure: Error | undefined;
      let batch: EventInput[] = [];
      let ended = false;
      let resolveDone!: (end: RemoteRunEnd) => void;
      let rejectDone!: (err: Error) => void;
      const done = new Promise<RemoteRunEnd>((resolve, reject) => {
        resolveDone = resolve;
        rejectDone = reject;
      });
      done.catch(() => undefined); // reported through onError; awaiting `done` still rejects
      const fail = (err: unknown) => {
        if (failure) return;
        failure = err instanceof Error ? err : new Error(String(err));
        (opts.onError ?? ((e) => process.stderr.write(`phasewatch connect: ${e.message}\n`)))(
          failure,
        );
        rejectDone(failure);
      };
      runId.catch(fail);
      /** Runs `task` after everything queued before it; skipped once something failed. */
      const enqueue = <T>(task: (id: string) => Promise<T>): Promise<T> => {
        const p = chain.then(async () => {
          if (failure) throw failure;
          return task(await runId);
        });
        chain = p.catch(fail);
        return p;
      };
      const flush = () =>
        enqueue(async (id) => {
          const events = batch;
          batch = [];
          if (events.length) await json(`/api/runs/${encodeURIComponent(id)}/events`, events);
        });
      const finish = (status: 'completed' | 'failed' | 'stopped', error?: string) => {
        if (ended) return;
        ended = true;
        if (batch.length) void flush().catch(() => undefined);
        enqueue((id) => json(`/api/runs/${encodeURIComponent(id)}/finish`, { status, error })).then(
          (r) => resolveDone(r as RemoteRunEnd),
          () => undefined,
        );
      };
      return {
        runId,
        done,
        next(e: EventInput) {
          if (ended) return;
          batch.push(e);
          // One request per burst of events: the flush runs after the current burst.
          if (batch.length === 1) void flush().catch(() => undefined);
        },
        error(err: unknown) {
          finish('failed', err instanceof Error ? err.message : String(err));
        },
        complete() {
          finish('completed');
        },
        stop(reason?: string) {
          finish('stopped', reason);
        },
        snapshot(step: number, s: RemoteSnapshot): Promise<void> {
          if (ended) return Promise.reject(new Error('the run has ended'));
          const n = s.labels.length / 2;
          const size = Math.round(Math.sqrt(s.images.length / n));
          const shapes = `labels=${n}x2; images=${n}x${size}x${size}; activations=${n}x${s.dim}`;
          const body = new Uint8Array(
            4 * (s.labels.length + s.images.length + s.activations.length),
          );
          let o = 0;
          for (const a of [s.labels, s.images, s.activations]) {
            body.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), o);
            o += a.byteLength;
          }
          if (batch.length) void flush().catch(() => undefined);
          const query = `step=${step}${s.sampleMs === undefined ? '' : `&sampleMs=${s.sampleMs}`}`;
          return enqueue(async (id) => {
            await call(`/api/runs/${encodeURIComponent(id)}/snapshots?${query}`, body, {
              'content-type': 'application/octet-stream',
              'x-phasewatch-shapes': shapes,
            });
          });
        },
        representation(step: number, s: RemoteRepresentation): Promise<void> {
          if (ended) return Promise.reject(new Error('the run has ended'));
          const body = JSON.stringify(representationBody(s));
          if (batch.length) void flush().catch(() => undefined);
          const query = `step=${step}${s.sampleMs === undefined ? '' : `&sampleMs=${s.sampleMs}`}`;
          return enqueue(async (id) => {
            await call(`/api/runs/${encodeURIComponent(id)}/snapshots?${query}`, body, {
              'content-type': 'application/json',
            });
          });
        },
      };
    },
  };
}

/** The JSON body of a representation snapshot (`representation-upload.ts` reads it). */
function representationBody(s: RemoteRepresentation): unknown {
  const rows = (data: Float32Array, dim: number) =>
    Array.from({ length: dim > 0 ? Math.floor(data.length / dim) : 0 }, (_, i) =>
      Array.from(data.subarray(i * dim, (i + 1) * dim)),
    );
  const activations = rows(s.activations, s.dim);
  const factors: Record<string, unknown[]> = {};
  const categorical: string[] = [];
  for (const [name, f] of Object.entries(s.factors)) {
    if (Array.isArray(f)) factors[name] = f;
    else if ('length' in f) factors[name] = Array.from(f);
    else {
      // A Factor (a typed array has a values() method too, so it is told apart by length).
      factors[name] = Array.from(f.values);
      if (f.categorical) categorical.push(name);
    }
  }
  return {
    activations,
    factors,
    ...(categorical.length ? { categorical } : {}),
    ...(s.samplesOk ? { samplesOk: Array.from(s.samplesOk) } : {}),
    ...(s.noiseLevels
      ? {
          noiseLevels: s.noiseLevels.map((l) => ({
            t: l.t,
            activations: rows(l.activations, l.dim),
          })),
        }
      : {}),
  };
}
