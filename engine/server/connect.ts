import { spawnSync } from 'node:child_process';
import type { Observer } from 'rxjs';
import type { EventInput, Factor, NoiseLevel } from '../../streams/events.js';
import type { RepresentationThresholds } from '../../operators/metrics/classify-representation.js';
import { newRunId } from '../store/run-store.js';

export interface ConnectOptions {
  /** The server's token; default: the `?token=` of `url`, else `PHASEWATCH_TOKEN`. */
  token?: string;
  /** Called once with the first failure (default: one line on stderr). */
  onError?: (err: Error) => void;
  /**
   * How long a request that gets no answer, or a 429, 502, 503 or 504, is sent again (after
   * the server's `retry-after`, else a backoff from 250 ms doubling to 8 s). Default 120 s.
   */
  retryForMs?: number;
}

/** A refusal of the server: its status (none when it could not be reached) and headers. */
class RequestError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly headers?: Headers,
  ) {
    super(message);
  }

  /** The same request may succeed later. */
  get transient(): boolean {
    return this.status === undefined || [429, 502, 503, 504].includes(this.status);
  }

  /** The server restarted and lost the run: it can be re-opened. */
  get interrupted(): boolean {
    return this.status === 409 && this.headers?.get('x-phasewatch-interrupted') === '1';
  }
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
  /**
   * Ends the run now, blocking until the server has it (at most `timeoutMs`, default 10 s): for
   * a process's `exit` handler, where no promise settles any more. The events not yet taken by
   * the server are sent first (events sent twice are kept once, by
   * their client numbers); a snapshot whose upload was cut off is lost. Says on stderr when the server is not
   * reached; false then.
   */
  endNow(status: 'completed' | 'failed' | 'stopped', error?: string, timeoutMs?: number): boolean;
}

/** What `endNow` runs in a child process: its calls in order, each a JSON POST. */
const SEND_NOW = `
import { readFileSync } from 'node:fs';
const { calls, headers } = JSON.parse(readFileSync(0, 'utf8'));
try {
  for (const [url, body] of calls) {
    const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
    const text = await res.text();
    if (!res.ok) throw new Error(new URL(url).pathname + ': ' + res.status + ' ' + text.trim());
  }
} catch (err) {
  const cause = err.cause?.code ?? err.cause?.message;
  process.stderr.write(err.message + (cause ? ' (' + cause + ')' : ''));
  process.exit(1);
}`;

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
  const retryForMs = opts.retryForMs ?? 120_000;
  const once = async (
    path: string,
    body: string | Uint8Array<ArrayBuffer>,
    headers: Record<string, string>,
  ) => {
    let res: Response;
    let text: string;
    try {
      res = await fetch(endpoint(path), {
        method: 'POST',
        body,
        headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
      });
      text = await res.text();
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      throw new RequestError(`${path}: no answer from ${base.origin} (${cause ?? oneLine(err)})`);
    }
    if (!res.ok) {
      throw new RequestError(
        `${path}: ${res.status} ${text.trim().split('\n')[0]}`,
        res.status,
        res.headers,
      );
    }
    return JSON.parse(text) as unknown;
  };
  /**
   * One request, sent again while it fails for a reason that may pass; a run's request the
   * server answers "interrupted" re-opens the run (`reopen`) and goes again.
   */
  const call = async (
    path: string,
    body: string | Uint8Array<ArrayBuffer>,
    headers: Record<string, string>,
    on: { reopen?: () => Promise<unknown>; retried?: () => void } = {},
  ): Promise<unknown> => {
    const { reopen } = on;
    const deadline = Date.now() + retryForMs;
    for (let tries = 0; ; tries++) {
      try {
        return await once(path, body, headers);
      } catch (err) {
        const e = err as RequestError;
        if (Date.now() >= deadline || !(e.transient || (e.interrupted && reopen))) throw e;
        if (e.interrupted && reopen) {
          await reopen();
          continue;
        }
        on.retried?.();
        const after = Number(e.headers?.get('retry-after'));
        const wait =
          Number.isFinite(after) && after >= 0
            ? after * 1000
            : Math.min(8000, 250 * 2 ** tries) * (0.8 + 0.4 * Math.random());
        await new Promise((r) => setTimeout(r, Math.min(wait, deadline - Date.now())));
      }
    }
  };
  const json = (path: string, body: unknown, on?: Parameters<typeof call>[3]) =>
    call(path, JSON.stringify(body), { 'content-type': 'application/json' }, on);

  return {
    run(runOpts: RemoteRunOptions = {}): RemoteRun {
      // Made here, so a create sent again whose first try was taken finds its own run.
      const wanted = runOpts.runId ?? newRunId();
      const reopenRun = () =>
        json(`/api/runs/${encodeURIComponent(wanted)}/reopen`, { assess: runOpts.assess });
      let retried = false;
      const runId = json(
        '/api/runs',
        { ...runOpts, runId: wanted },
        { retried: () => (retried = true) },
      ).then(
        (r) => (r as { runId: string }).runId,
        async (err: RequestError) => {
          // Sent again after its answer was lost: the first try created the run.
          if (!retried || err.status !== 409 || !/already exists/.test(err.message)) throw err;
          return ((await reopenRun()) as { runId: string }).runId;
        },
      );
      let clientSeq = 0;
      let created = false;
      void runId.then(
        () => (created = true),
        () => undefined,
      );
      // The events of the request in flight, for endNow to send again (kept once by clientSeq).
      let sending: EventInput[] = [];
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
          if (events.length) {
            sending = events;
            await json(`/api/runs/${encodeURIComponent(id)}/events`, events, { reopen: reopenRun });
            sending = [];
          }
        });
      const finish = (status: 'completed' | 'failed' | 'stopped', error?: string) => {
        if (ended) return;
        ended = true;
        if (batch.length) void flush().catch(() => undefined);
        enqueue((id) =>
          json(
            `/api/runs/${encodeURIComponent(id)}/finish`,
            { status, error },
            { reopen: reopenRun },
          ),
        ).then(
          (r) => resolveDone(r as RemoteRunEnd),
          () => undefined,
        );
      };
      return {
        runId,
        done,
        next(e: EventInput) {
          if (ended) return;
          batch.push({ ...e, clientSeq: ++clientSeq });
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
        endNow(status, error, timeoutMs = 10_000) {
          if (ended || !created || failure) return false;
          ended = true;
          const runUrl = endpoint(`/api/runs/${encodeURIComponent(wanted)}`);
          const events = [...sending, ...batch];
          batch = [];
          const calls: [string, unknown][] = events.length ? [[`${runUrl}/events`, events]] : [];
          calls.push([`${runUrl}/finish`, { status, error }]);
          const sent = spawnSync(process.execPath, ['--input-type=module', '-e', SEND_NOW], {
            input: JSON.stringify({
              calls,
              headers: {
                'content-type': 'application/json',
                ...(token ? { authorization: `Bearer ${token}` } : {}),
              },
            }),
            encoding: 'utf8',
            timeout: timeoutMs,
          });
          if (sent.status === 0) return true;
          const why = sent.error?.message ?? (sent.stderr.trim().split('\n')[0] || undefined);
          fail(
            new Error(
              `the run's end did not reach ${base.origin}: ${why ?? `exit ${sent.status}`}`,
            ),
          );
          return false;
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
          const query =
            `step=${step}&clientSeq=${++clientSeq}` +
            (s.sampleMs === undefined ? '' : `&sampleMs=${s.sampleMs}`);
          return enqueue(async (id) => {
            await call(
              `/api/runs/${encodeURIComponent(id)}/snapshots?${query}`,
              body,
              { 'content-type': 'application/octet-stream', 'x-phasewatch-shapes': shapes },
              { reopen: reopenRun },
            );
          });
        },
        representation(step: number, s: RemoteRepresentation): Promise<void> {
          if (ended) return Promise.reject(new Error('the run has ended'));
          const body = JSON.stringify(representationBody(s));
          if (batch.length) void flush().catch(() => undefined);
          const query =
            `step=${step}&clientSeq=${++clientSeq}` +
            (s.sampleMs === undefined ? '' : `&sampleMs=${s.sampleMs}`);
          return enqueue(async (id) => {
            await call(
              `/api/runs/${encodeURIComponent(id)}/snapshots?${query}`,
              body,
              { 'content-type': 'application/json' },
              { reopen: reopenRun },
            );
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

function oneLine(err: unknown): string {
  return String(err instanceof Error ? err.message : err).split('\n')[0];
}
