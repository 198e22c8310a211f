import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { merge, Subject, Subscription, type Observable } from 'rxjs';
import { mergeMap, share } from 'rxjs/operators';
import { assessPhases, type AssessPhasesOptions } from '../../operators/assess-phases.js';
import { assessmentEvent, assessmentMetrics } from '../assessment-events.js';
import type { PhasedAssessment } from '../../operators/phase-hysteresis.js';
import { checkBumpInput } from '../../operators/metrics/bump-input.js';
import { phaseEvents } from '../../operators/phase-events.js';
import type { EventInput, RunEvent, Snapshot } from '../../streams/events.js';
import { record } from '../store/record.js';
import { readRunMeta, RunStore } from '../store/run-store.js';
import { hostHeaderAllowed, originAllowed, tokenMatches } from './host-check.js';
import { checkIngestEvent, createRunSchema, finishSchema, zodError } from './ingest-schema.js';
import { parseShapes, readNpy, readRawFloat32, type NdArray } from './npy.js';

export interface IngestOptions {
  /** Where ingested runs are stored (the live server's runs dir). */
  runsDir: string;
  /** The server's token (already resolved); required on every request when set. */
  token?: string;
  /** Largest JSON body accepted (default 8 MiB). */
  maxJsonBytes?: number;
  /** Largest snapshot body accepted (default 64 MiB). */
  maxSnapshotBytes?: number;
  /** Defaults of the phase assessment of uploaded snapshots; a run may override them. */
  assess?: Pick<AssessPhasesOptions, 'confirm' | 'embed' | 'seed' | 'tol' | 'assess'>;
  /**
   * A run with no request for this long is taken for abandoned (its trainer died) and ends
   * `stopped` with an alert saying why. Default 30 minutes.
   */
  idleMs?: number;
  /** Runs open at once; one more is refused with 429. Default 100. */
  maxOpenRuns?: number;
}

export interface Ingest {
  /**
   * Serves `/api/...` requests and returns true; returns false for any other path so the
   * caller serves it.
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** Every event stored by an ingested run (the live server pushes them to dashboards). */
  readonly events$: Observable<RunEvent>;
  /** Runs open for ingest now. */
  readonly openRuns: string[];
  /** Ends every open run `stopped` (pending assessments are dropped). */
  close(): void;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** One run a trainer writes through the API. */
interface OpenRun {
  store: RunStore;
  input: Subject<EventInput>;
  recording: Subscription;
  /** Why the store failed, once it has. */
  failure?: string;
  finishing: boolean;
  snaps: Subject<Snapshot>;
  assessing: Subscription;
  assessOpts: AssessPhasesOptions;
  bySteps: Map<number, Snapshot>;
  lastSnapshotStep: number;
  /** The highest step of any event the trainer sent. */
  lastStep: number;
  /** Called whenever no snapshot is waiting for its assessment. */
  idle: (() => void)[];
  /** Ends the run if no request comes for `idleMs`. */
  watchdog?: NodeJS.Timeout;
}

/**
 * The ingest API: a training loop that is not ours (PyTorch, JAX, a TypeScript loop) creates
 * a run, appends events of the generic kinds and uploads snapshots, which go through the same
 * run store (`record`) and phase assessment (`assessPhases`) as a phasewatch run and appear
 * live. Token and host rules are the server's; a browser page from another site is refused
 * (Origin, and content types a plain form cannot send). Every bad request gets a 4xx and one
 * line of text saying why.
 *
 * ```
 * POST /api/runs                       {name?, runId?, config?, tags?, notes?, backend?, assess?}  → 201 {runId}
 * POST /api/runs/<runId>/events        an event, an array of events, or {events: [...]}          → 200 {appended, lastSeq}
 * POST /api/runs/<runId>/snapshots?step=N   .npy labels, images, activations back to back
 *                                      (application/x-npy), or raw float32 with
 *                                      x-phasewatch-shapes: labels=Nx2; images=NxSxS; activations=NxD → 202
 * POST /api/runs/<runId>/finish        {status?: completed|failed|stopped, error?}               → 200 {runId, status, phase}
 * GET  /api/runs/<runId>               meta.json of the run and the snapshots still being assessed
 * ```
 *
 * @example
 * const ingest = createIngest({ runsDir: 'runs', token });
 * createServer((req, res) => ingest.handle(req, res) || other(req, res));
 */
export function createIngest(opts: IngestOptions): Ingest {
  const maxJson = opts.maxJsonBytes ?? 8 << 20;
  const maxSnapshot = opts.maxSnapshotBytes ?? 64 << 20;
  const idleMs = opts.idleMs ?? 30 * 60_000;
  const maxOpenRuns = opts.maxOpenRuns ?? 100;
  const hub = new Subject<RunEvent>();
  const runs = new Map<string, OpenRun>();

  const handle = (req: IncomingMessage, res: ServerResponse): boolean => {
    const raw = req.url ?? '';
    const q = raw.indexOf('?');
    const pathname = q < 0 ? raw : raw.slice(0, q);
    if (pathname !== '/api' && !pathname.startsWith('/api/')) return false;
    const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
    route(req, pathname, query).then(
      ({ status, body }) => {
        if (!res.headersSent) {
          res
            .writeHead(status, {
              'content-type': 'application/json; charset=utf-8',
              'cache-control': 'no-store',
            })
            .end(JSON.stringify(body) + '\n');
        }
      },
      (err: unknown) => {
        const status = err instanceof HttpError ? err.status : 500;
        const message = err instanceof Error ? err.message : String(err);
        if (res.headersSent) return void res.destroy();
        const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
        // A body we stopped reading must not be taken for the next request.
        if (!req.complete) headers.connection = 'close';
        res.writeHead(status, headers).end(message.split('\n')[0] + '\n');
        if (!req.complete) res.once('finish', () => req.destroy());
      },
    );
    return true;
  };

  async function route(
    req: IncomingMessage,
    pathname: string,
    query: URLSearchParams,
  ): Promise<{ status: number; body: unknown }> {
    if (!hostHeaderAllowed(req.headers.host, opts.token))
      throw new HttpError(403, 'forbidden host');
    if (!originAllowed(req.headers.origin, req.headers.host)) {
      throw new HttpError(403, `forbidden origin ${req.headers.origin}`);
    }
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!tokenMatches(opts.token, bearer ?? query.get('token'))) {
      throw new HttpError(
        401,
        'missing or wrong token: send authorization: Bearer <token> or ?token=',
      );
    }
    const parts = pathname.split('/').slice(2).map(decodePart);
    const method = req.method ?? 'GET';
    const allow = (...methods: string[]) => {
      if (!methods.includes(method)) {
        throw new HttpError(
          405,
          `${method} ${pathname} is not allowed (use ${methods.join(' or ')})`,
        );
      }
    };
    if (parts[0] === 'runs' && parts.length === 1) {
      allow('POST');
      return { status: 201, body: createRun(await readJson(req, maxJson)) };
    }
    if (parts[0] === 'runs' && parts.length === 2) {
      allow('GET', 'HEAD');
      return { status: 200, body: runStatus(parts[1]) };
    }
    if (parts[0] === 'runs' && parts.length === 3) {
      if (parts[2] === 'events') {
        allow('POST');
        const run = openRun(parts[1]);
        return { status: 200, body: appendEvents(run, await readJson(req, maxJson)) };
      }
      if (parts[2] === 'snapshots') {
        allow('POST');
        const run = openRun(parts[1]);
        return { status: 202, body: await uploadSnapshot(run, req, query) };
      }
      if (parts[2] === 'finish') {
        allow('POST');
        const run = openRun(parts[1]);
        return { status: 200, body: await finish(run, await readJson(req, maxJson, true)) };
      }
    }
    throw new HttpError(
      404,
      `no endpoint ${pathname} (POST /api/runs, POST /api/runs/<runId>/events|snapshots|finish, GET /api/runs/<runId>)`,
    );
  }

  function createRun(body: unknown): { runId: string } {
    const r = createRunSchema.safeParse(body ?? {});
    if (!r.success) throw new HttpError(400, zodError('body', body, r.error));
    const { name, runId, tags, notes, backend, config, assess } = r.data;
    if (runs.size >= maxOpenRuns) {
      throw new HttpError(
        429,
        `${runs.size} runs are open, the most this server takes: finish one first`,
      );
    }
    const assessOpts: AssessPhasesOptions = { ...opts.assess, ...assess };
    let store: RunStore;
    try {
      store = RunStore.create({
        runsDir: opts.runsDir,
        runId,
        name,
        tags,
        notes,
        backend: backend ?? 'external',
        config: config ?? {},
        hub,
      });
    } catch (err) {
      const message = (err as Error).message;
      throw new HttpError(/already exists|locked|held by/i.test(message) ? 409 : 400, message);
    }
    const input = new Subject<EventInput>();
    const run: OpenRun = {
      store,
      input,
      recording: Subscription.EMPTY,
      finishing: false,
      snaps: new Subject<Snapshot>(),
      assessing: Subscription.EMPTY,
      assessOpts,
      bySteps: new Map(),
      lastSnapshotStep: -1,
      lastStep: 0,
      idle: [],
    };
    run.recording = input.pipe(record(store)).subscribe({
      error: (err: unknown) => {
        run.failure = err instanceof Error ? err.message : String(err);
      },
    });
    startAssessing(run);
    runs.set(store.runId, run);
    watch(run);
    return { runId: store.runId };
  }

  /** Snapshots of the run → assessment, metrics and phase events, in order. */
  function startAssessing(run: OpenRun): void {
    const assessed$ = run.snaps.pipe(assessPhases(run.assessOpts), share());
    run.assessing = merge(
      assessed$.pipe(mergeMap((a) => assessmentEvents(a, run))),
      assessed$.pipe(phaseEvents()),
    ).subscribe({
      next: (e) => {
        if (!run.failure && !run.recording.closed) run.input.next(e);
        if (e.type === 'phase' || e.type === 'assessment') settle(run);
      },
      error: (err: unknown) => {
        // One snapshot that cannot be assessed must not end the run: say so and start afresh.
        const message = err instanceof Error ? err.message : String(err);
        if (!run.recording.closed) {
          run.input.next({
            type: 'alert',
            step: run.lastSnapshotStep,
            level: 'error',
            message: `assessment failed: ${message.split('\n')[0]}`,
          });
        }
        run.bySteps.clear();
        run.snaps = new Subject<Snapshot>();
        startAssessing(run);
        settle(run);
      },
    });
  }

  /** (Re)arms the run's idle watchdog. */
  function watch(run: OpenRun): void {
    if (run.watchdog) clearTimeout(run.watchdog);
    run.watchdog = setTimeout(() => {
      if (run.finishing || !runs.has(run.store.runId)) return;
      const idle =
        idleMs >= 60_000 ? `${Math.round(idleMs / 6000) / 10} min` : `${idleMs / 1000} s`;
      run.input.next({
        type: 'alert',
        step: run.lastStep,
        level: 'warning',
        message: `no request from the trainer for ${idle}: run stopped`,
      });
      end(run);
      run.recording.unsubscribe();
    }, idleMs);
    run.watchdog.unref();
  }

  /** Stops assessing and forgets the run; the caller ends its recording. */
  function end(run: OpenRun): void {
    run.finishing = true;
    if (run.watchdog) clearTimeout(run.watchdog);
    run.assessing.unsubscribe();
    run.snaps.complete();
    runs.delete(run.store.runId);
  }

  function settle(run: OpenRun): void {
    if (run.bySteps.size > 0) return;
    for (const resolve of run.idle.splice(0)) resolve();
  }

  function assessmentEvents(a: PhasedAssessment, run: OpenRun): EventInput[] {
    const snap = run.bySteps.get(a.step);
    run.bySteps.delete(a.step);
    return snap ? [assessmentEvent(a, snap), ...assessmentMetrics(a)] : assessmentMetrics(a);
  }

  function openRun(runId: string): OpenRun {
    const run = runs.get(runId);
    if (run) {
      if (run.failure) throw new HttpError(409, `run ${runId} failed: ${run.failure}`);
      if (run.finishing) throw new HttpError(409, `run ${runId} is finishing`);
      watch(run);
      return run;
    }
    if (existsSync(join(opts.runsDir, runId, 'meta.json'))) {
      throw new HttpError(
        409,
        `run ${runId} is not open for ingest (it ended, or another process writes it)`,
      );
    }
    throw new HttpError(
      404,
      `no run ${JSON.stringify(runId.slice(0, 200))} (create one with POST /api/runs)`,
    );
  }

  function runStatus(runId: string): unknown {
    const run = runs.get(runId);
    if (run) return { ...run.store.info, open: true, assessing: run.bySteps.size };
    const dir = join(opts.runsDir, runId);
    if (
      !/^[\w.-]+$/.test(runId) ||
      runId === '.' ||
      runId === '..' ||
      !existsSync(join(dir, 'meta.json'))
    ) {
      throw new HttpError(404, `no run ${JSON.stringify(runId.slice(0, 200))}`);
    }
    return { ...readRunMeta(dir), open: false, assessing: 0 };
  }

  function appendEvents(run: OpenRun, body: unknown): { appended: number; lastSeq: number } {
    // The run may have been finished while this body was read.
    if (run.finishing || run.failure) {
      throw new HttpError(409, `run ${run.store.runId} is no longer open`);
    }
    const wrapped =
      body !== null && typeof body === 'object' && !Array.isArray(body) && 'events' in body;
    const list: unknown[] = Array.isArray(body)
      ? body
      : wrapped
        ? (body.events as unknown[])
        : [body];
    if (!Array.isArray(list)) throw new HttpError(400, 'events: must be an array of events');
    const events: EventInput[] = [];
    for (let i = 0; i < list.length; i++) {
      const where = Array.isArray(body) ? `[${i}]` : wrapped ? `events[${i}]` : 'event';
      const checked = checkIngestEvent(list[i], where);
      if (typeof checked === 'string') throw new HttpError(400, checked);
      events.push(checked);
    }
    for (const e of events) {
      run.lastStep = Math.max(run.lastStep, e.step);
      run.input.next(e);
      if (run.failure) throw new HttpError(500, `run ${run.store.runId} failed: ${run.failure}`);
    }
    return { appended: events.length, lastSeq: run.store.lastSeq };
  }

  async function uploadSnapshot(
    run: OpenRun,
    req: IncomingMessage,
    query: URLSearchParams,
  ): Promise<unknown> {
    const stepText = query.get('step');
    const step = Number(stepText);
    if (stepText === null || stepText.trim() === '' || !Number.isSafeInteger(step) || step < 0) {
      throw new HttpError(
        400,
        `step must be an integer >= 0 in the query (got ${JSON.stringify(stepText)})`,
      );
    }
    if (step <= run.lastSnapshotStep) {
      throw new HttpError(
        409,
        `step must be above the run's last snapshot step ${run.lastSnapshotStep} (got ${step})`,
      );
    }
    const sampleMs = Number(query.get('sampleMs') ?? 0);
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type !== 'application/x-npy' && type !== 'application/octet-stream') {
      throw new HttpError(
        415,
        `content-type must be application/x-npy or application/octet-stream with x-phasewatch-shapes (got ${JSON.stringify(type)})`,
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
    const body = await readBody(req, maxSnapshot);
    let arrays: Record<string, NdArray>;
    try {
      if (type === 'application/x-npy') {
        arrays = {};
        let offset = 0;
        for (const name of ['labels', 'images', 'activations']) {
          const r = readNpy(body, offset, name);
          arrays[name] = r.array;
          offset = r.end;
        }
        if (offset !== body.length) {
          throw new Error(
            `body has ${body.length - offset} bytes after the third array (send labels, images, activations only)`,
          );
        }
      } else {
        arrays = readRawFloat32(body, shapes);
      }
    } catch (err) {
      throw new HttpError(400, (err as Error).message);
    }
    const snap = snapshotOf(run.store.runId, step, arrays);
    if (run.finishing || run.failure) {
      throw new HttpError(409, `run ${run.store.runId} is no longer open`);
    }
    // Another upload of a later step may have landed while this body was read.
    if (step <= run.lastSnapshotStep) {
      throw new HttpError(
        409,
        `step must be above the run's last snapshot step ${run.lastSnapshotStep} (got ${step})`,
      );
    }
    run.lastSnapshotStep = step;
    run.lastStep = Math.max(run.lastStep, step);
    let file: string;
    try {
      file = run.store.writeSnapshot(step, snap);
    } catch (err) {
      throw new HttpError(500, `cannot store the snapshot: ${(err as Error).message}`);
    }
    const count = snap.labels.length / 2;
    run.input.next({
      type: 'snapshot',
      step,
      file,
      count,
      size: snap.size,
      dim: snap.dim,
      sampleMs: Number.isFinite(sampleMs) && sampleMs >= 0 ? sampleMs : 0,
    });
    if (run.failure) throw new HttpError(500, `run ${run.store.runId} failed: ${run.failure}`);
    // Said at once (the assessment follows later): a snapshot the bump rule cannot judge.
    const input = checkBumpInput(snap, run.assessOpts.thresholds?.minOneBump);
    run.bySteps.set(step, snap);
    run.snaps.next(snap);
    return {
      step,
      file,
      count,
      size: snap.size,
      dim: snap.dim,
      ...(input.warning ? { warning: `phase will not be judged: ${input.warning}` } : {}),
    };
  }

  async function finish(run: OpenRun, body: unknown): Promise<unknown> {
    const r = finishSchema.safeParse(body ?? {});
    if (!r.success) throw new HttpError(400, zodError('body', body, r.error));
    const status = r.data.status ?? 'completed';
    run.finishing = true;
    if (status !== 'stopped' && run.bySteps.size > 0) {
      await new Promise<void>((resolve) => run.idle.push(resolve));
    }
    end(run);
    if (status === 'completed') run.input.complete();
    else if (status === 'failed')
      run.input.error(new Error(r.data.error ?? 'failed (said the trainer)'));
    else {
      // A stopped run's end carries no error; the trainer's reason goes in an alert before it.
      if (r.data.error !== undefined) {
        run.input.next({
          type: 'alert',
          step: run.lastStep,
          level: 'warning',
          message: `stopped: ${r.data.error}`,
        });
      }
      run.recording.unsubscribe();
    }
    const info = run.store.info;
    return {
      runId: info.runId,
      status: info.status,
      phase: info.phase ?? null,
      lastStep: info.lastStep,
    };
  }

  return {
    handle,
    events$: hub.asObservable(),
    get openRuns() {
      return [...runs.keys()];
    },
    close() {
      for (const run of [...runs.values()]) {
        end(run);
        run.recording.unsubscribe();
      }
    },
  };
}

function decodePart(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new HttpError(
      400,
      `path segment ${JSON.stringify(s.slice(0, 60))} is not valid percent-encoding`,
    );
  }
}

/** Reads a request body up to `limit` bytes; a longer one is a 413 (told early by content-length). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(
      new HttpError(413, `body of ${declared} bytes is over the limit of ${limit}`),
    );
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.pause();
        reject(new HttpError(413, `body is over the limit of ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('close', () => {
      if (!req.complete) reject(new HttpError(400, 'the body was cut off'));
    });
    req.once('error', (err) => reject(new HttpError(400, `cannot read the body: ${err.message}`)));
  });
}

/** Reads a JSON body (content-type application/json); an empty body is undefined when allowed. */
async function readJson(req: IncomingMessage, limit: number, emptyOk = false): Promise<unknown> {
  const body = await readBody(req, limit);
  if (body.length === 0 && emptyOk) return undefined;
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/json') {
    throw new HttpError(415, `content-type must be application/json (got ${JSON.stringify(type)})`);
  }
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch (err) {
    throw new HttpError(400, `body is not valid JSON: ${(err as Error).message.split('\n')[0]}`);
  }
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
  if (images.shape[0] !== n || images.shape.length < 2) {
    throw new HttpError(
      400,
      `images must have shape (N=${n}, S, S), (N, 1, S, S) or (N, S*S) (got (${images.shape.join(', ')}))`,
    );
  }
  const px = images.data.length / n;
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
