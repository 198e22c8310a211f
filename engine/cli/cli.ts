import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { isObservable, Subject, type Observable } from 'rxjs';
import type { RunEvent } from '../../streams/events.js';
import { resolveConfig, type ExperimentConfig } from '../config.js';
import { createScriptContext, type Script } from '../script.js';
import { readRunMeta } from '../store/run-store.js';
import { startServer, type LiveServer } from '../server/live-server.js';
import { advanceProgress, progressLine, type ProgressState } from './progress.js';

const USAGE = `usage:
  phasewatch run [file.ts] [--steps N] [--snapshot-every N] [--samples N] [--size N]
                 [--dx X] [--dy Y] [--sigma S] [--seed N] [--backend NAME] [--out DIR]
                 [--widths a,b,c] [--cond-hidden N] [--batch-size N] [--lr X] [--embed umap|pca] [--confirm N]
                 [--run-id ID] [--resume RUNDIR] [--serve] [--port N] [--host H] [--token T]
  phasewatch serve [runsDir] [--port N] [--host H] [--token T]`;

export type { Script, ScriptContext } from '../script.js';

const OPTIONS = {
  steps: { type: 'string' },
  'snapshot-every': { type: 'string' },
  samples: { type: 'string' },
  size: { type: 'string' },
  dx: { type: 'string' },
  dy: { type: 'string' },
  sigma: { type: 'string' },
  seed: { type: 'string' },
  backend: { type: 'string' },
  out: { type: 'string' },
  widths: { type: 'string' },
  'batch-size': { type: 'string' },
  'cond-hidden': { type: 'string' },
  lr: { type: 'string' },
  embed: { type: 'string' },
  confirm: { type: 'string' },
  'run-id': { type: 'string' },
  resume: { type: 'string' },
  serve: { type: 'boolean' },
  port: { type: 'string' },
  host: { type: 'string' },
  token: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const NUMERIC: [string, keyof ExperimentConfig][] = [
  ['steps', 'steps'],
  ['snapshot-every', 'snapshotEvery'],
  ['samples', 'samples'],
  ['size', 'size'],
  ['dx', 'dx'],
  ['dy', 'dy'],
  ['sigma', 'sigma'],
  ['seed', 'seed'],
  ['batch-size', 'batchSize'],
  ['cond-hidden', 'condHidden'],
  ['lr', 'lr'],
  ['confirm', 'confirm'],
];

/** Numbers stay numbers; anything else is passed on so the error shows what was typed. */
const numeric = (v: string): number | string =>
  v.trim() !== '' && !isNaN(Number(v)) ? Number(v) : v;

type Values = Record<string, string | boolean | undefined>;

/** Turns `--flag value` pairs into config overrides (validated later by resolveConfig). */
export function flagsToConfig(values: Values): Partial<ExperimentConfig> {
  const out: Record<string, unknown> = {};
  for (const [flag, key] of NUMERIC) {
    if (typeof values[flag] === 'string') out[key] = numeric(values[flag]);
  }
  if (typeof values.backend === 'string') out.backend = values.backend;
  if (typeof values.embed === 'string') out.embed = values.embed;
  if (typeof values['run-id'] === 'string') out.runId = values['run-id'];
  if (typeof values.widths === 'string') out.widths = values.widths.split(',').map(numeric);
  return out as Partial<ExperimentConfig>;
}

function parsePort(v: string | boolean | undefined): number {
  if (v === undefined) return 4321;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new Error(`port must be an integer from 0 to 65535 (got ${JSON.stringify(v)})`);
  }
  return n;
}

async function serve(runsDir: string, values: Values, hub: Subject<RunEvent>): Promise<LiveServer> {
  const server = await startServer({
    runsDir,
    live$: hub,
    port: parsePort(values.port),
    host: typeof values.host === 'string' ? values.host : undefined,
    token: typeof values.token === 'string' ? values.token : undefined,
  });
  process.stderr.write(`phasewatch: dashboard at ${server.url}\n`);
  return server;
}

/** Draws the progress bar on stderr: redrawn in place on a terminal, a line per snapshot otherwise. */
function progressSink(total: number, runsDir: string): (e: RunEvent) => void {
  const tty = process.stderr.isTTY === true;
  const states = new Map<string, ProgressState>();
  let lastDraw = 0;
  return (e) => {
    const prev = states.get(e.runId) ?? {
      step: 0,
      total,
      loss: NaN,
      phase: null,
      examplesPerSec: 0,
      startedAt: e.time,
      now: e.time,
    };
    const state = advanceProgress(prev, e);
    states.set(e.runId, state);
    const prefix = states.size > 1 ? `${e.runId} ` : '';
    if (tty && e.type === 'step' && e.time - lastDraw > 200) {
      lastDraw = e.time;
      process.stderr.write(`\r${prefix}${progressLine(state)}\x1b[K`);
    } else if (e.type === 'assessment') {
      const line =
        `${prefix}${progressLine(state)} | acc ${e.accuracy.toFixed(2)} one-bump ` +
        `${e.bumps.one.toFixed(2)} R² ${e.r2.mean.toFixed(2)}`;
      process.stderr.write(tty ? `\r${line}\x1b[K\n` : `${line}\n`);
    } else if (e.type === 'phase') {
      process.stderr.write(
        `${tty ? '\r\x1b[K' : ''}${prefix}phase ${e.from ?? '-'} → ${e.to} at step ${e.step}\n`,
      );
    } else if (e.type === 'run-end') {
      const why = e.error ? `: ${e.error}` : '';
      const where = join(runsDir, e.runId);
      process.stderr.write(
        `${tty ? '\n' : ''}run ${e.status} at step ${e.step}${why} (${where})\n`,
      );
    }
  };
}

/**
 * Calls `stop` on the first Ctrl-C or SIGTERM and swallows repeats: a terminal sends SIGINT to
 * tsx and to this process, and the second must not kill the run before it is stored as stopped.
 */
function onInterrupt(stop: () => void): void {
  let stopping = false;
  const handler = () => {
    if (!stopping) {
      stopping = true;
      stop();
    }
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

async function loadScript(file: string): Promise<Script> {
  const path = resolve(file);
  if (!existsSync(path)) throw new Error(`script file "${file}" does not exist`);
  const mod = (await import(pathToFileURL(path).href)) as { default?: Script };
  if (mod.default === undefined) {
    throw new Error(`script "${file}" must have a default export: a config object or a function`);
  }
  return mod.default;
}

async function runCommand(positionals: string[], values: Values): Promise<void> {
  const runsDir = typeof values.out === 'string' ? values.out : 'runs';
  const resume = typeof values.resume === 'string' ? values.resume : undefined;
  // a resumed run keeps the config it was started with
  const config = resume
    ? resolveConfig({ steps: Number(readRunMeta(resume).config.steps) })
    : resolveConfig(flagsToConfig(values));
  const script = positionals[0] ? await loadScript(positionals[0]) : undefined;
  const hub = new Subject<RunEvent>();
  const server = values.serve ? await serve(runsDir, values, hub) : undefined;
  hub.subscribe(progressSink(config.steps, runsDir));
  const ctx = createScriptContext({ config, runsDir, hub, resume });
  let work: Observable<unknown> | Promise<unknown> | void;
  if (typeof script === 'function') work = script(ctx);
  else work = ctx.run(resolveConfig({ ...config, ...script }));
  try {
    if (isObservable(work)) {
      const runs = work;
      // Ctrl-C unsubscribes: training stops and each run is stored as 'stopped'.
      await new Promise<void>((done, fail) => {
        const sub = runs.subscribe({ error: fail, complete: done });
        onInterrupt(() => {
          sub.unsubscribe();
          done();
        });
      });
    } else {
      await work;
    }
  } finally {
    hub.complete();
    await server?.close();
  }
}

/** `--dx -1` → `--dx=-1`, so a negative number reaches validation instead of looking like a flag. */
function joinNegativeValues(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i].startsWith('--') ? argv[i].slice(2) : '';
    const spec = (OPTIONS as Record<string, { type: string }>)[flag];
    if (spec?.type === 'string' && /^-[\d.]/.test(argv[i + 1] ?? '')) {
      out.push(`${argv[i]}=${argv[++i]}`);
    } else {
      out.push(argv[i]);
    }
  }
  return out;
}

/** Runs the CLI; returns the exit code. User errors print one line, never a stack. */
export async function main(argv: string[]): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: joinNegativeValues(argv),
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    });
    const [command, ...rest] = positionals;
    if (values.help || command === undefined) {
      process.stdout.write(`${USAGE}\n`);
      return command === undefined && !values.help ? 1 : 0;
    }
    if (command === 'run') {
      await runCommand(rest, values);
      return 0;
    }
    if (command === 'serve') {
      const server = await serve(rest[0] ?? 'runs', values, new Subject<RunEvent>());
      await new Promise<void>((r) => onInterrupt(r));
      await server.close();
      return 0;
    }
    throw new Error(`command must be one of run, serve (got "${command}")`);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`phasewatch: ${message.split('\n')[0]}\n`);
    if (process.env.PHASEWATCH_DEBUG && err instanceof Error)
      process.stderr.write(`${err.stack}\n`);
    return 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    () => process.exit(1),
  );
}
