import { existsSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { catchError, defer, EMPTY, Subject, Subscription, type Observable } from 'rxjs';
import type { AssessPhasesOptions } from '../../operators/assess-phases.js';
import { checkBumpInput } from '../../operators/metrics/bump-input.js';
import { representationProblems } from '../../operators/metrics/assess-representation.js';
import {
  watchPhases,
  type PhaseWatchState,
  type WatchPhasesOptions,
} from '../../operators/watch-phases.js';
import type { AssessOptions } from '../../operators/metrics/assess-snapshot.js';
import {
  snapshotSamples,
  type EventInput,
  type Phase,
  type RunEvent,
  type RunMeta,
  type Snapshot,
} from '../../streams/events.js';
import { isValidRunId } from '../../streams/protocol.js';
import { record } from '../store/record.js';
import { ioReason } from '../store/io-error.js';
import { checkLabels, editRunLabels, type RunLabels } from '../store/labels.js';
import { readRunMeta, readSnapshotArrays, RunStore } from '../store/run-store.js';
import { planResume, type ResumePlan } from '../store/resume.js';
import { readRunLog } from '../../streams/replay.js';
import { AssessPool } from './assess-pool.js';
import { HttpError, readBody } from './ingest-http.js';
import {
  checkIngestEvent,
  clientSeq,
  createRunSchema,
  finishSchema,
  reopenSchema,
  zodError,
} from './ingest-schema.js';
import { decodeUpload, uploadFormat, uploadStep } from './snapshot-upload.js';
import {
  decodeRepresentation,
  representationArrays,
  representationFormat,
} from './representation-upload.js';

export interface IngestOptions {
  /** Where ingested runs are stored (the live server's runs dir). */
  runsDir: string;
  /** The server's token (already resolved); required on every request when set. */
  token?: string;
  /** Called with a run's meta once its labels were changed over the API. */
  onLabels?: (meta: RunMeta) => void;
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
  /**
   * Snapshots being uploaded, waiting for or in assessment, all runs together; one more upload
   * is refused with 429 and `retry-after` before its body is read. Default 16.
   */
  maxPendingAssessments?: number;
  /** Samples (N) of one snapshot; more are refused with 413. Default 10,000. */
  maxSamples?: number;
  /** Activation dimensions (D) of one snapshot; more are refused with 413. Default 4,096. */
  maxDim?: number;
  /** Worker threads that assess snapshots. Default: the cores but one, at least one. */
  assessWorkers?: number;
}

/** One run a trainer writes through the API. */
export interface OpenRun {
  store: RunStore;
  input: Subject<EventInput>;
  recording: Subscription;
  /** Why the store failed, once it has. */
  failure?: string;
  finishing: boolean;
  snaps: Subject<Snapshot>;
  assessing: Subscription;
  assessOpts: WatchPhasesOptions;
  /** Steps of the snapshots not assessed yet. */
  pending: Set<number>;
  /** The phase the run's `phase` events have reached. */
  phase?: Phase;
  lastSnapshotStep: number;
  /** The highest step of any event the trainer sent. */
  lastStep: number;
  /** Called whenever no snapshot is waiting for its assessment. */
  idle: (() => void)[];
  /** Ends the run if no request comes for `idleMs`. */
  watchdog?: NodeJS.Timeout;
  /** The highest `clientSeq` stored: events and snapshots sent again at or below it are dropped. */
  clientSeq: number;
  /** What the last snapshot upload answered, with its `clientSeq` (a retried upload gets it again). */
  lastUpload?: { clientSeq?: number; reply: Record<string, unknown> };
}

/** Where a run the API re-opened stands: what the client must send again from. */
export interface ReopenedRun {
  runId: string;
  /** True when the run was interrupted and is open again; false when it was open already. */
  reopened: boolean;
  /** The highest `clientSeq` stored: send again what came after it. */
  clientSeq: number;
  lastStep: number;
  lastSnapshotStep: number;
  lastSeq: number;
}

/** The runs open for ingest, and what the API does to them (each handler one function). */
export interface IngestRuns {
  /** `POST /api/runs`: creates a run; its snapshots are assessed as they come. */
  create(body: unknown): { runId: string };
  /** The open run of that id (409 when it ended or failed, 404 when there is none). */
  open(runId: string): OpenRun;
  /** `GET /api/runs/<runId>`: the run's meta, open or not, and the snapshots being assessed. */
  status(runId: string): unknown;
  /** `PATCH /api/runs/<runId>/labels`: name, tags, notes, written as `phasewatch edit` does. */
  labels(runId: string, body: unknown): RunMeta;
  /** `POST /api/runs/<runId>/events`. */
  append(
    run: OpenRun,
    body: unknown,
  ): { appended: number; duplicates: number; lastSeq: number; clientSeq: number };
  /** `POST /api/runs/<runId>/snapshots?step=N`. */
  upload(run: OpenRun, req: IncomingMessage, query: URLSearchParams): Promise<unknown>;
  /** `POST /api/runs/<runId>/finish`: once every snapshot is assessed (unless stopped). */
  finish(run: OpenRun, body: unknown): Promise<unknown>;
  /** `POST /api/runs/<runId>/reopen`: opens an interrupted run again (open runs: their state). */
  reopen(runId: string, body: unknown): ReopenedRun;
  readonly events$: Observable<RunEvent>;
  readonly openRuns: string[];
  close(): void;
}

/** The run lifecycle of the ingest API: create, append, upload, finish, the idle watchdog. */
export function createIngestRuns(opts: IngestOptions): IngestRuns {
  const maxSnapshot = opts.maxSnapshotBytes ?? 64 << 20;
  const idleMs = opts.idleMs ?? 30 * 60_000;
  const maxOpenRuns = opts.maxOpenRuns ?? 100;
  const maxPending = opts.maxPendingAssessments ?? 16;
  const maxSamples = opts.maxSamples ?? 10_000;
  const maxDim = opts.maxDim ?? 4096;
  // Assessments run off the event loop: the page, sockets and a co-hosted run stay responsive.
  const pool = new AssessPool(opts.assessWorkers);
  let reading = 0;
  const pendingAll = (): number => {
    let n = 0;
    for (const run of runs.values()) n += run.pending.size;
    return n;
  };
  const hub = new Subject<RunEvent>();
  const runs = new Map<string, OpenRun>();

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
    const assessOpts: WatchPhasesOptions = { ...opts.assess, ...assess };
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
      if (typeof (err as NodeJS.ErrnoException).code === 'string') {
        // The disk, not the request: nothing was left behind (see RunStore.create).
        throw new HttpError(
          insufficientStorage({ cause: err }) ? 507 : 500,
          `cannot create the run: ${ioReason(err)}`,
        );
      }
      throw new HttpError(/already exists|locked|held by/i.test(message) ? 409 : 400, message);
    }
    admit(store, assessOpts);
    return { runId: store.runId };
  }

  /** Starts recording and assessing a run the API writes (a new one, or one re-opened). */
  function admit(
    store: RunStore,
    assessOpts: WatchPhasesOptions,
    from: { lastStep: number; lastSnapshotStep: number; clientSeq: number } = {
      lastStep: 0,
      lastSnapshotStep: -1,
      clientSeq: 0,
    },
    phases?: PhaseWatchState,
  ): OpenRun {
    const input = new Subject<EventInput>();
    const run: OpenRun = {
      store,
      input,
      recording: Subscription.EMPTY,
      finishing: false,
      snaps: new Subject<Snapshot>(),
      assessing: Subscription.EMPTY,
      assessOpts: phases ? { ...assessOpts, initial: phases } : assessOpts,
      pending: new Set(),
      idle: [],
      ...from,
    };
    run.recording = input.pipe(record(store, { startStep: from.lastStep })).subscribe({
      error: (err: unknown) => failed(run, err instanceof Error ? err.message : String(err)),
    });
    startAssessing(run);
    // A watch restarted later goes on from here: the lost phase event is not sent twice.
    run.phase = phases?.phaseEvent?.to ?? phases?.phase ?? undefined;
    runs.set(store.runId, run);
    watch(run);
    return run;
  }

  /** Snapshots of the run → assessment, metrics and phase events, in order. */
  function startAssessing(run: OpenRun): void {
    const assess = run.assessOpts.assess ?? pool.assess;
    // A snapshot that cannot be assessed is reported and skipped inside the watch, which keeps
    // its state: a restarted watch would start from no phase and report the first one again.
    const orSkip = (s: Snapshot, o: AssessOptions) =>
      defer(() => assess(s, o)).pipe(
        catchError((err: unknown) => {
          assessmentFailed(run, s.step, err);
          return EMPTY;
        }),
      );
    const initial = run.phase
      ? { hysteresis: { phase: run.phase, candidate: null, streak: 0 } }
      : run.assessOpts.initial;
    run.assessing = run.snaps
      .pipe(watchPhases({ ...run.assessOpts, assess: orSkip, initial }))
      .subscribe({
        next: (e) => {
          if (e.type === 'assessment') run.pending.delete(e.step);
          if (e.type === 'phase') run.phase = e.to;
          if (!run.failure && !run.recording.closed) run.input.next(e);
          if (e.type === 'phase' || e.type === 'assessment') settle(run);
        },
        error: (err: unknown) => {
          // Anything else that breaks the watch must not end the run: say so and go on from
          // the phase reached (so no second `null → A`).
          assessmentFailed(run, run.lastSnapshotStep, err);
          run.pending.clear();
          run.snaps = new Subject<Snapshot>();
          startAssessing(run);
          settle(run);
        },
      });
  }

  /** An `error` alert for a snapshot that could not be assessed; the run goes on. */
  function assessmentFailed(run: OpenRun, step: number, err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    if (!run.failure && !run.recording.closed) {
      run.input.next({
        type: 'alert',
        step,
        level: 'error',
        message: `assessment failed: ${message.split('\n')[0]}`,
      });
    }
    run.pending.delete(step);
    settle(run);
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

  /**
   * The run's store ended it `failed` (a write that failed: a full disk): nothing more is
   * assessed or recorded; requests for it get 409 with the reason until the idle watchdog
   * forgets it.
   */
  function failed(run: OpenRun, message: string): void {
    run.failure ??= message;
    run.assessing.unsubscribe();
    run.pending.clear();
    settle(run);
  }

  function settle(run: OpenRun): void {
    if (run.pending.size > 0) return;
    for (const resolve of run.idle.splice(0)) resolve();
  }

  function openRun(runId: string): OpenRun {
    const run = runs.get(runId);
    if (run) {
      if (run.failure) throw new HttpError(409, `run ${runId} failed: ${run.failure}`);
      if (run.finishing) throw new HttpError(409, `run ${runId} is finishing`);
      watch(run);
      return run;
    }
    // An id that is not a run id (`../x`) names nothing, whatever lies at that path.
    if (isValidRunId(runId) && existsSync(join(opts.runsDir, runId, 'meta.json'))) {
      if (metaStatus(runId) === 'interrupted') {
        throw new HttpError(
          409,
          `run ${runId} was interrupted (its writer ended): POST /api/runs/${runId}/reopen to go on`,
          { 'x-phasewatch-interrupted': '1' },
        );
      }
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

  /** The dir of a run stored in the runs dir; 404 for any other id. */
  function storedDir(runId: string): string {
    const dir = join(opts.runsDir, runId);
    if (!isValidRunId(runId) || !existsSync(join(dir, 'meta.json'))) {
      throw new HttpError(404, `no run ${JSON.stringify(runId.slice(0, 200))}`);
    }
    return dir;
  }

  function runStatus(runId: string): unknown {
    const run = runs.get(runId);
    if (run) return { ...run.store.info, open: true, assessing: run.pending.size };
    return { ...readRunMeta(storedDir(runId)), open: false, assessing: 0 };
  }

  function editLabels(runId: string, body: unknown): RunMeta {
    const dir = storedDir(runId);
    let patch: RunLabels;
    try {
      patch = checkLabels(body);
    } catch (err) {
      throw new HttpError(400, (err as Error).message);
    }
    const meta = editRunLabels(dir, patch);
    opts.onLabels?.(meta);
    return meta;
  }

  function appendEvents(
    run: OpenRun,
    body: unknown,
  ): { appended: number; duplicates: number; lastSeq: number; clientSeq: number } {
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
    let last = 0;
    for (let i = 0; i < events.length; i++) {
      const n = events[i].clientSeq;
      if (n === undefined) continue;
      if (n <= last) {
        const where = Array.isArray(body) ? `[${i}]` : wrapped ? `events[${i}]` : 'event';
        throw new HttpError(
          400,
          `${where}.clientSeq: must be above the batch's earlier ones (got ${n} after ${last})`,
        );
      }
      last = n;
    }
    let appended = 0;
    for (const e of events) {
      // Sent before, and stored (the answer was lost): stored once.
      if (e.clientSeq !== undefined && e.clientSeq <= run.clientSeq) continue;
      run.lastStep = Math.max(run.lastStep, e.step);
      run.input.next(e);
      if (run.failure) throw new HttpError(500, `run ${run.store.runId} failed: ${run.failure}`);
      if (e.clientSeq !== undefined) run.clientSeq = e.clientSeq;
      appended++;
    }
    return {
      appended,
      duplicates: events.length - appended,
      lastSeq: run.store.lastSeq,
      clientSeq: run.clientSeq,
    };
  }

  async function uploadSnapshot(
    run: OpenRun,
    req: IncomingMessage,
    query: URLSearchParams,
  ): Promise<unknown> {
    const step = uploadStep(query);
    const cseq = uploadClientSeq(query);
    if (cseq !== undefined && cseq <= run.clientSeq) {
      // Sent again after a failure, and stored the first time: the same answer, nothing stored.
      req.resume();
      const last = run.lastUpload;
      return last?.clientSeq === cseq
        ? { ...last.reply, duplicate: true }
        : { step, clientSeq: cseq, duplicate: true };
    }
    stepAfterLast(run, step);
    const sampleMs = Number(query.get('sampleMs') ?? 0);
    // A representation snapshot (any model: activations and factors) or a bump one.
    const reprFormat = representationFormat(req, query);
    const format = reprFormat ? null : uploadFormat(req);
    const waiting = pendingAll() + reading;
    if (waiting >= maxPending) {
      throw new HttpError(
        429,
        `${waiting} snapshots are waiting for their assessment, the most this server holds: try again later`,
        { 'retry-after': String(Math.max(1, Math.ceil(waiting / pool.size))) },
      );
    }
    // Bodies being read count too: many uploads at once cannot all get past the check.
    reading++;
    let body: Buffer;
    try {
      body = await readBody(req, maxSnapshot);
    } finally {
      reading--;
    }
    const snap = format
      ? decodeUpload(body, format, run.store.runId, step)
      : decodeRepresentation(body, reprFormat!, run.store.runId, step);
    const samples = snapshotSamples(snap);
    if (samples > maxSamples) {
      throw new HttpError(413, `snapshot of ${samples} samples is over the limit of ${maxSamples}`);
    }
    if (snap.dim > maxDim) {
      throw new HttpError(
        413,
        `snapshot activations of ${snap.dim} dimensions are over the limit of ${maxDim}`,
      );
    }
    if (run.finishing || run.failure) {
      throw new HttpError(409, `run ${run.store.runId} is no longer open`);
    }
    // Another upload of a later step may have landed while this body was read.
    stepAfterLast(run, step);
    run.lastSnapshotStep = step;
    run.lastStep = Math.max(run.lastStep, step);
    let file: string;
    try {
      file = run.store.writeSnapshot(step, snap.factors ? representationArrays(snap) : snap);
    } catch (err) {
      // The store ended the run failed with the reason (and left no file).
      const message = (err as Error).message;
      failed(run, message);
      run.recording.unsubscribe();
      throw new HttpError(
        insufficientStorage(err) ? 507 : 500,
        `cannot store the snapshot: ${message} (the run ended failed)`,
      );
    }
    const count = samples;
    run.input.next({
      type: 'snapshot',
      step,
      file,
      count,
      size: snap.size,
      dim: snap.dim,
      sampleMs: Number.isFinite(sampleMs) && sampleMs >= 0 ? sampleMs : 0,
      ...(cseq === undefined ? {} : { clientSeq: cseq }),
    });
    if (run.failure) throw new HttpError(500, `run ${run.store.runId} failed: ${run.failure}`);
    if (cseq !== undefined) run.clientSeq = cseq;
    // Said at once (the assessment follows later): a snapshot the bump rule cannot judge.
    const problems = snap.factors ? representationProblems(snap) : [];
    const input = snap.factors
      ? { warning: problems.length > 0 ? problems.join('; ') : undefined }
      : checkBumpInput(snap, run.assessOpts.thresholds?.minOneBump);
    run.pending.add(step);
    run.snaps.next(snap);
    const reply = {
      step,
      file,
      count,
      size: snap.size,
      dim: snap.dim,
      ...(input.warning ? { warning: `phase will not be judged: ${input.warning}` } : {}),
    };
    run.lastUpload = { clientSeq: cseq, reply };
    return reply;
  }

  /** The status meta.json gives a stored run (`interrupted` when its writer is gone). */
  function metaStatus(runId: string): string | undefined {
    try {
      return readRunMeta(join(opts.runsDir, runId)).status;
    } catch {
      return undefined;
    }
  }

  /**
   * Opens an interrupted run again (the server that wrote it was killed, or restarted): the
   * log stays as it is, a torn last line cut off; the run goes on from its last step, with the
   * client's numbering, the last snapshot step and the phase watch where they were, and the
   * snapshots stored but not assessed are assessed now. An open run answers where it stands.
   */
  function reopen(runId: string, body: unknown): ReopenedRun {
    const r = reopenSchema.safeParse(body ?? {});
    if (!r.success) throw new HttpError(400, zodError('body', body, r.error));
    const open = runs.has(runId) ? openRun(runId) : undefined;
    if (open) return standing(open, false);
    const dir = join(opts.runsDir, runId);
    if (!isValidRunId(runId) || !existsSync(join(dir, 'meta.json'))) {
      throw new HttpError(404, `no run ${JSON.stringify(runId.slice(0, 200))}`);
    }
    const status = metaStatus(runId);
    if (status === 'running') {
      throw new HttpError(409, `run ${runId} is written by another process`);
    }
    if (status !== 'interrupted') {
      throw new HttpError(
        409,
        `run ${runId} ended ${status ?? 'unreadable'}: it cannot be reopened`,
      );
    }
    if (runs.size >= maxOpenRuns) {
      throw new HttpError(
        429,
        `${runs.size} runs are open, the most this server takes: finish one first`,
      );
    }
    let plan: ResumePlan;
    let from: { lastStep: number; lastSnapshotStep: number; clientSeq: number };
    let lastUpload: OpenRun['lastUpload'];
    let store: RunStore;
    try {
      const log = readRunLog(dir);
      plan = planResume(dir, Number.MAX_SAFE_INTEGER, log);
      from = { lastStep: 0, lastSnapshotStep: -1, clientSeq: 0 };
      for (const e of log.events) {
        from.lastStep = Math.max(from.lastStep, e.step);
        if (e.clientSeq !== undefined) from.clientSeq = Math.max(from.clientSeq, e.clientSeq);
        if (e.type === 'snapshot') {
          from.lastSnapshotStep = Math.max(from.lastSnapshotStep, e.step);
          const { step, file, count, size, dim } = e;
          lastUpload = { clientSeq: e.clientSeq, reply: { step, file, count, size, dim } };
        }
      }
      store = RunStore.open(dir, { hub });
    } catch (err) {
      const message = (err as Error).message.split('\n')[0];
      if (typeof (err as NodeJS.ErrnoException).code === 'string') {
        throw new HttpError(500, `cannot reopen run ${runId}: ${ioReason(err)}`);
      }
      if (/is being written by/.test(message)) {
        // Its writer was gone a moment ago: the lock is held by whoever marks it interrupted.
        throw new HttpError(503, `run ${runId} is being looked at: try again`, {
          'retry-after': '1',
        });
      }
      throw new HttpError(409, `cannot reopen run ${runId}: ${message}`);
    }
    const assessOpts: WatchPhasesOptions = { ...opts.assess, ...r.data.assess };
    const run = admit(store, assessOpts, from, {
      hysteresis: plan.hysteresis,
      phase: plan.phase,
      phaseEvent: plan.phaseEventDue,
    });
    run.lastUpload = lastUpload;
    for (const e of plan.unassessed) {
      try {
        const arrays = readSnapshotArrays(join(dir, e.file));
        run.pending.add(e.step);
        run.snaps.next({ runId, step: e.step, size: e.size, dim: e.dim, ...arrays });
      } catch (err) {
        run.input.next({
          type: 'alert',
          step: e.step,
          level: 'error',
          message: `snapshot at step ${e.step} cannot be assessed again: ${(err as Error).message.split('\n')[0]}`,
        });
      }
    }
    return standing(run, true);
  }

  function standing(run: OpenRun, reopened: boolean): ReopenedRun {
    return {
      runId: run.store.runId,
      reopened,
      clientSeq: run.clientSeq,
      lastStep: run.lastStep,
      lastSnapshotStep: run.lastSnapshotStep,
      lastSeq: run.store.lastSeq,
    };
  }

  /** `clientSeq=K` of a snapshot upload, if given. */
  function uploadClientSeq(query: URLSearchParams): number | undefined {
    const raw = query.get('clientSeq');
    if (raw === null) return undefined;
    const r = clientSeq.safeParse(Number(raw));
    if (!/^\d+$/.test(raw) || !r.success) {
      throw new HttpError(
        400,
        `clientSeq must be an integer >= 1 (got ${JSON.stringify(raw.slice(0, 60))})`,
      );
    }
    return r.data;
  }

  /** True for a write that failed for want of space (507 Insufficient Storage). */
  function insufficientStorage(err: unknown): boolean {
    const cause = (err as { cause?: NodeJS.ErrnoException }).cause;
    return cause?.code === 'ENOSPC' || cause?.code === 'EDQUOT';
  }

  function stepAfterLast(run: OpenRun, step: number): void {
    if (step <= run.lastSnapshotStep) {
      throw new HttpError(
        409,
        `step must be above the run's last snapshot step ${run.lastSnapshotStep} (got ${step})`,
      );
    }
  }

  async function finish(run: OpenRun, body: unknown): Promise<unknown> {
    const r = finishSchema.safeParse(body ?? {});
    if (!r.success) throw new HttpError(400, zodError('body', body, r.error));
    const status = r.data.status ?? 'completed';
    run.finishing = true;
    if (status !== 'stopped' && run.pending.size > 0) {
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
    create: createRun,
    open: openRun,
    status: runStatus,
    labels: editLabels,
    append: appendEvents,
    upload: uploadSnapshot,
    finish,
    reopen,
    events$: hub.asObservable(),
    get openRuns() {
      return [...runs.keys()];
    },
    close() {
      for (const run of [...runs.values()]) {
        end(run);
        run.recording.unsubscribe();
      }
      pool.close();
    },
  };
}
