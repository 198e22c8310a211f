import { Subject, type Subscription } from 'rxjs';
import { z } from 'zod';
import type { EventInput, Phase, RunStatus } from '../../streams/events.js';
import { connect, type RemoteRun } from './connect.js';
import { checkIngestEvent, createRunSchema, zodError } from './ingest-schema.js';
import { record } from '../store/record.js';
import { RunStore } from '../store/run-store.js';

/** A `step` event as `run.event` takes it: `examplesPerSec` may be left out (0). */
export type LoggedStep = Omit<Extract<EventInput, { type: 'step' }>, 'examplesPerSec'> & {
  examplesPerSec?: number;
};

/** What `init()` takes: the run's labels and config, and where it goes. */
export interface InitOptions {
  /** A human name, shown in the runs table. */
  name?: string;
  /** The run's settings (hyper-parameters), stored in meta.json and shown with the run. */
  config?: Record<string, unknown>;
  tags?: string[];
  notes?: string;
  /** The run directory's name (default: time-stamped). */
  runId?: string;
  /**
   * Where the run is stored on this machine (default `runs`). With `url` too, a copy of what is
   * sent to the server, under the server's run id (a directory apart from the server's).
   */
  runsDir?: string;
  /**
   * A live phasewatch server (`phasewatch serve`, the URL it prints, token included): the run
   * goes through its ingest API into the server's runs dir, and shows live in its dashboard.
   */
  url?: string;
  /** The server's token (default: the URL's `?token=`, then `PHASEWATCH_TOKEN`). */
  token?: string;
  /** What trains the model, shown as the run's backend (default `external`). */
  backend?: string;
}

/** How a run ended, as `finish()` and `fail()` report it. */
export interface RunSummary {
  runId: string;
  status: RunStatus;
  /** The highest step logged. */
  lastStep: number;
  phase: Phase | null;
  /** The run's directory (a local run). */
  dir?: string;
}

/**
 * A run a training loop logs to, as with Weights & Biases: `log({ 'train/loss': l }, step)`,
 * then `finish()`. Every call is checked where it is made: a bad value throws one line naming
 * it, and is the only thing refused.
 */
export interface TrackedRun {
  readonly runId: string;
  /** The run's directory, for a local run. */
  readonly dir?: string;
  /** `running` until `finish()` or `fail()` (or the process exits). */
  readonly status: RunStatus;
  /**
   * One `metric` event per name (a `/` groups charts into panels: `train/loss`), at `step`
   * (default: one above the last step logged, 0 at first). The finite numbers are stored; then
   * a value that is not one throws, naming it: `run.log: "train/loss" must be a finite number
   * (got "high")`.
   */
  log(values: Record<string, number>, step?: number): void;
  /**
   * Any event of the generic kinds (`curve`, `matrix`, `embedding`, `images`, `alert`) or a
   * `step` event (`{ type: 'step', step, loss }`, the loss chart), checked as the server's
   * ingest API checks it (docs/events.md).
   */
  event(e: EventInput | LoggedStep): void;
  /** Ends the run `completed`. */
  finish(): Promise<RunSummary>;
  /** Ends the run `failed` with the error's message (its first line). */
  fail(error: unknown): Promise<RunSummary>;
}

const initSchema = createRunSchema
  .omit({ assess: true })
  .extend({
    runId: z.string().min(1).max(128).optional(),
    runsDir: z.string().min(1).optional(),
    url: z.string().min(1).optional(),
    token: z.string().min(1).optional(),
  })
  .strict();

const firstLine = (err: unknown): string =>
  (err instanceof Error ? err.message : String(err)).split('\n')[0];

const shown = (v: unknown): string => {
  const s = typeof v === 'number' ? String(v) : (JSON.stringify(v) ?? String(v));
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
};

/** Where a run's checked events go: the local run store, or a server's ingest API. */
interface Sink {
  runId: string;
  dir?: string;
  next(e: EventInput): void;
  end(status: 'completed' | 'failed' | 'stopped', error?: string): Promise<RunSummary>;
  /** The same, done before it returns: for the process's `exit` and its signals. */
  endNow(status: 'completed' | 'failed' | 'stopped', error?: string): void;
}

function localSink(o: z.infer<typeof initSchema>): Sink {
  let store: RunStore;
  try {
    store = RunStore.create({
      runsDir: o.runsDir ?? 'runs',
      runId: o.runId,
      name: o.name,
      tags: o.tags,
      notes: o.notes,
      backend: o.backend ?? 'external',
      config: o.config ?? {},
    });
  } catch (err) {
    throw new Error(`init: ${firstLine(err)}`, { cause: err });
  }
  let lastStep = 0;
  const input = new Subject<EventInput>();
  const recording: Subscription = input.pipe(record(store)).subscribe({ error: () => undefined });
  const end: Sink['end'] = (status, error) => {
    if (status === 'completed') input.complete();
    else if (status === 'failed') input.error(new Error(error ?? 'failed'));
    else {
      if (error !== undefined) {
        input.next({
          type: 'alert',
          step: lastStep,
          level: 'warning',
          message: `stopped: ${error}`,
        });
      }
      recording.unsubscribe();
    }
    const info = store.info;
    return Promise.resolve({
      runId: info.runId,
      status: info.status,
      lastStep: info.lastStep ?? 0,
      phase: info.phase ?? null,
      dir: store.dir,
    });
  };
  return {
    runId: store.runId,
    dir: store.dir,
    next: (e) => {
      if (e.step > lastStep) lastStep = e.step;
      input.next(e);
    },
    end,
    // The store writes synchronously: the end is on disk when end() returns.
    endNow: (status, error) => void end(status, error),
  };
}

async function remoteSink(o: z.infer<typeof initSchema>, url: string): Promise<Sink> {
  let started = false;
  // A refused start is init()'s error; a failure later (the server gone) is reported once here,
  // and finish() rejects with it.
  const onError = (err: Error) => {
    if (started) process.stderr.write(`phasewatch init: ${err.message}\n`);
  };
  const client = connect(url, { token: o.token, onError });
  const remote: RemoteRun = client.run({
    name: o.name,
    runId: o.runId,
    config: o.config,
    tags: o.tags,
    notes: o.notes,
    backend: o.backend ?? 'external',
  });
  let runId: string;
  try {
    runId = await remote.runId;
    started = true;
  } catch (err) {
    throw new Error(
      `init: the server at ${new URL(url).origin} refused the run: ${firstLine(err)}`,
      {
        cause: err,
      },
    );
  }
  let lastStep = 0;
  return {
    runId,
    next: (e) => {
      if (e.step > lastStep) lastStep = e.step;
      remote.next(e);
    },
    end: async (status, error) => {
      if (status === 'completed') remote.complete();
      else if (status === 'failed') remote.error(new Error(error ?? 'failed'));
      else remote.stop(error);
      const end = await remote.done;
      return { runId, status: end.status as RunStatus, lastStep, phase: end.phase as Phase | null };
    },
    endNow: (status, error) => void remote.endNow(status, error),
  };
}

/** With `url` and `runsDir`: the run on the server, and a copy under the same id on this machine. */
async function bothSinks(o: z.infer<typeof initSchema>, url: string): Promise<Sink> {
  const remote = await remoteSink(o, url);
  let local: Sink;
  try {
    local = localSink({ ...o, runId: remote.runId });
  } catch (err) {
    await remote.end('failed', firstLine(err)).catch(() => undefined);
    throw new Error(
      `${firstLine(err)} (runsDir keeps a local copy: give one apart from the server's runs dir)`,
      { cause: err },
    );
  }
  return {
    runId: remote.runId,
    dir: local.dir,
    next: (e) => {
      local.next(e);
      remote.next(e);
    },
    end: async (status, error) => {
      const [, end] = await Promise.all([local.end(status, error), remote.end(status, error)]);
      return { ...end, dir: local.dir };
    },
    endNow: (status, error) => {
      local.endNow(status, error);
      remote.endNow(status, error);
    },
  };
}

/**
 * Starts a run that a training loop of any kind logs to, the way Weights & Biases' `wandb.init`
 * does: stored in the local run store (`runsDir`, default `runs`; `phasewatch serve runs` shows
 * it), or with `url` streamed to a live phasewatch server (and with both, each). The run ends with `finish()` or
 * `fail(err)`; a process that ends without either finishes it as wandb does: `completed` when
 * the program ends normally (or `process.exit(0)`), `failed` with the error when an uncaught
 * exception or a non-zero exit code ends it, `stopped` on SIGINT/SIGTERM (an alert says which).
 * A remote run's end reaches the server before the process is gone.
 *
 * Options are checked first: a bad one throws one line naming it (`init.tags[0]: …`).
 *
 * @example
 * import * as phasewatch from 'phasewatch';
 * const run = await phasewatch.init({ name: 'my loop', config: { lr: 1e-3 }, tags: ['baseline'] });
 * for (let step = 1; step <= 100; step++) run.log({ 'train/loss': trainStep() }, step);
 * await run.finish();
 */
export async function init(options: InitOptions = {}): Promise<TrackedRun> {
  const parsed = initSchema.safeParse(options);
  if (!parsed.success) throw new Error(zodError('init', options, parsed.error));
  const o = parsed.data;
  const sink =
    o.url === undefined
      ? localSink(o)
      : o.runsDir === undefined
        ? await remoteSink(o, o.url)
        : await bothSinks(o, o.url);

  let status: RunStatus = 'running';
  let last: number | undefined;
  let crash: unknown;
  const onCrash = (err: unknown) => (crash ??= err);
  // As wandb does: a program that ends normally finishes its run `completed`. beforeExit comes
  // when nothing is left to do, and the end (a request, for a remote run) is awaited as usual.
  const onBeforeExit = () => {
    if (status === 'running') void close('completed');
  };
  // process.exit(), an uncaught exception, a signal: nothing async runs any more, so the end
  // is written (or sent to the server) before the handler returns.
  const onExit = (code: number) => {
    if (status !== 'running') return;
    if (crash !== undefined) closeNow('failed', firstLine(crash));
    else if (code !== 0) closeNow('failed', `the process exited with code ${code}`);
    else closeNow('completed');
  };
  // Ctrl-C or a kill: the run ends `stopped`; then, unless the program handles the signal
  // itself, the process ends as it would have without us.
  const onSignal = (signal: NodeJS.Signals) => {
    if (status === 'running') closeNow('stopped', `${signal} received`);
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  process.on('uncaughtExceptionMonitor', onCrash);
  process.on('exit', onExit);
  process.on('beforeExit', onBeforeExit);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const ending = (how: 'completed' | 'failed' | 'stopped') => {
    status = how;
    process.off('uncaughtExceptionMonitor', onCrash);
    process.off('exit', onExit);
    process.off('beforeExit', onBeforeExit);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  const close = (how: 'completed' | 'failed' | 'stopped', error?: string) => {
    ending(how);
    return sink.end(how, error);
  };
  const closeNow = (how: 'completed' | 'failed' | 'stopped', error?: string) => {
    ending(how);
    sink.endNow(how, error);
  };
  const open = (call: string) => {
    if (status !== 'running') throw new Error(`${call}: run ${sink.runId} has ended (${status})`);
  };
  const stepOf = (step: unknown): number => {
    if (step === undefined) return last === undefined ? 0 : last + 1;
    if (typeof step !== 'number' || !Number.isSafeInteger(step) || step < 0) {
      throw new Error(`run.log: step must be an integer >= 0 (got ${shown(step)})`);
    }
    return step;
  };

  return {
    runId: sink.runId,
    dir: sink.dir,
    get status() {
      return status;
    },
    log(values, step) {
      open('run.log');
      if (values === null || typeof values !== 'object' || Array.isArray(values)) {
        throw new Error(
          `run.log: values must be an object of names and numbers, e.g. { 'train/loss': 0.5 } (got ${shown(values)})`,
        );
      }
      const at = stepOf(step);
      const refused: string[] = [];
      for (const [name, value] of Object.entries(values as Record<string, unknown>)) {
        if (name.length === 0 || name.length > 200) {
          refused.push(`the name ${shown(name)} must have 1 to 200 characters`);
        } else if (typeof value !== 'number' || !Number.isFinite(value)) {
          refused.push(`${JSON.stringify(name)} must be a finite number (got ${shown(value)})`);
        } else {
          sink.next({ type: 'metric', name, value, step: at });
        }
      }
      last = at;
      if (refused.length) {
        const more = refused.length > 1 ? ` (and ${refused.length - 1} more)` : '';
        throw new Error(`run.log: ${refused[0]}${more}`);
      }
    },
    event(e) {
      open('run.event');
      const checked = checkIngestEvent(e, 'run.event');
      if (typeof checked === 'string') throw new Error(checked);
      sink.next(checked);
      if (last === undefined || checked.step > last) last = checked.step;
    },
    finish() {
      open('run.finish');
      return close('completed');
    },
    fail(error: unknown) {
      open('run.fail');
      return close('failed', firstLine(error));
    },
  };
}
