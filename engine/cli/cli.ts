import { existsSync, mkdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isObservable, Subject, type Observable } from 'rxjs';
import type { RunEvent } from '../../streams/events.js';
import {
  checkConfig,
  CONFIG_FIELDS,
  CONFIG_KEYS,
  configFromMeta,
  didYouMean,
  formatConfigValue,
  parseFieldText,
  type ConfigKey,
  type ExperimentConfig,
} from '../experiment/config.js';
import { createScriptContext, type Script } from '../experiment/script.js';
import { listRuns, readRunMeta } from '../store/run-store.js';
import { startServer, type LiveServer } from '../server/live-server.js';
import { DISTRIBUTED_USAGE, isDistributedCommand } from './distributed-usage.js';
import { exportCommand } from './export-command.js';
import { importScript } from '../experiment/load-script.js';
import {
  advanceProgress,
  assessmentFiguresLine,
  newProgress,
  progressLine,
  type ProgressState,
} from './progress.js';
import { EDIT_USAGE, editCommand } from './edit-command.js';
import { reportCommand } from './report-command.js';
import { interrupts } from '../runtime/interrupts.js';

export type { Script, ScriptContext } from '../experiment/script.js';

type Command = 'run' | 'serve';

/** An option of the command line that is not an experiment setting. */
interface CliOption {
  kind: 'string' | 'boolean' | 'integer';
  arg: string;
  description: string;
  commands: Command[];
}

const CLI_OPTIONS = {
  out: {
    kind: 'string',
    arg: 'DIR',
    description: 'Where runs are stored (default runs); created if missing.',
    commands: ['run'],
  },
  resume: {
    kind: 'string',
    arg: 'RUNDIR',
    description: 'Continue a stored run from its newest checkpoint, with its own config.',
    commands: ['run'],
  },
  serve: {
    kind: 'boolean',
    arg: '',
    description: 'Serve the dashboard while training, and after it ends until Ctrl-C.',
    commands: ['run'],
  },
  port: {
    kind: 'integer',
    arg: 'N',
    description: 'Dashboard port (default 4321; 0 picks a free one).',
    commands: ['run', 'serve'],
  },
  host: {
    kind: 'string',
    arg: 'H',
    description: 'Address to bind (default 127.0.0.1); any other than loopback needs --token.',
    commands: ['run', 'serve'],
  },
  token: {
    kind: 'string',
    arg: 'T',
    description: 'Token the page and its socket must carry (default: PHASEWATCH_TOKEN).',
    commands: ['run', 'serve'],
  },
  help: { kind: 'boolean', arg: '', description: 'Show this help.', commands: ['run', 'serve'] },
} satisfies Record<string, CliOption>;

type CliOptionName = keyof typeof CLI_OPTIONS;

/** Every `--flag`: an experiment setting (from the config schema) or a CLI option. */
const FLAGS = new Map<string, { key: ConfigKey } | { option: CliOptionName }>([
  ...CONFIG_KEYS.flatMap((key) => {
    const flag = CONFIG_FIELDS[key].flag;
    return flag ? [[flag, { key }] as const] : [];
  }),
  ...(Object.keys(CLI_OPTIONS) as CliOptionName[]).map((option) => [option, { option }] as const),
]);

const flagArg = (flag: string, arg: string): string => `--${flag}${arg ? ` ${arg}` : ''}`;

function helpLines(rows: [string, string][]): string {
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  return rows.map(([l, r]) => `  ${l.padEnd(width)}${r}`).join('\n');
}

/** `--help`, generated from the config schema and the CLI options. */
export function usage(): string {
  const settings = CONFIG_KEYS.flatMap((key): [string, string][] => {
    const f = CONFIG_FIELDS[key];
    if (!f.flag) return [];
    const shown = typeof f.default === 'string' ? f.default : formatConfigValue(f.default);
    const def = f.default === undefined ? '' : ` [${shown}]`;
    return [[flagArg(f.flag, f.arg), `${f.description}${def}`]];
  });
  const options = (Object.entries(CLI_OPTIONS) as [string, CliOption][]).map(
    ([flag, o]): [string, string] => [
      flag === 'help' ? '-h, --help' : flagArg(flag, o.arg),
      o.description,
    ],
  );
  return [
    'usage:',
    '  phasewatch run [script.ts] [settings] [--out DIR | --resume RUNDIR] [--serve [--port N] [--host H] [--token T]]',
    '  phasewatch serve [runsDir] [--port N] [--host H] [--token T]',
    '  phasewatch export <runDir> --tensorboard <dir> | --csv [file]',
    `  ${EDIT_USAGE}`,
    '  phasewatch report <runDir…> --out DIR   render a run’s or a sweep’s figures to PNG',
    ...DISTRIBUTED_USAGE,
    '',
    "settings of the experiment (the command line overrides a script's own; defaults in brackets):",
    helpLines(settings),
    '',
    'options:',
    helpLines(options),
  ].join('\n');
}

/** What a command line says, every value checked. */
export interface CommandLine {
  command?: string;
  positionals: string[];
  /** Settings given as flags, typed from their text but not yet checked against the schema. */
  config: Record<string, unknown>;
  options: {
    out?: string;
    resume?: string;
    serve?: boolean;
    port?: number;
    host?: string;
    token?: string;
    help?: boolean;
  };
}

function parsePort(text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw new Error(`--port must be an integer from 0 to 65535 (got ${JSON.stringify(text)})`);
  }
  return n;
}

/**
 * Parses `phasewatch <command> …`: `--flag value`, `--flag=value`, negative numbers as values,
 * `--` before positionals that start with a dash. An unknown flag throws
 * `unknown flag --stesp (did you mean --steps?)`.
 */
export function parseCommandLine(argv: string[]): CommandLine {
  const out: CommandLine = { positionals: [], config: {}, options: {} };
  const opts = out.options as Record<string, unknown>;
  let onlyPositionals = false;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (onlyPositionals || !token.startsWith('-') || token === '-') {
      if (out.command === undefined) out.command = token;
      else out.positionals.push(token);
      continue;
    }
    if (token === '--') {
      onlyPositionals = true;
      continue;
    }
    if (token === '-h') {
      opts.help = true;
      continue;
    }
    const eq = token.indexOf('=');
    const name = token.startsWith('--') ? token.slice(2, eq < 0 ? undefined : eq) : token.slice(1);
    const inline = eq < 0 ? undefined : token.slice(eq + 1);
    const spec = FLAGS.get(name);
    if (!spec || !token.startsWith('--')) {
      const near = didYouMean(name, [...FLAGS.keys()]);
      throw new Error(
        `unknown flag ${token.split('=')[0]}${near ? ` (did you mean --${near}?)` : ''}`,
      );
    }
    const boolean =
      'key' in spec
        ? CONFIG_FIELDS[spec.key].kind === 'boolean'
        : CLI_OPTIONS[spec.option].kind === 'boolean';
    let text: string;
    if (boolean) {
      text = inline ?? 'true';
    } else if (inline !== undefined) {
      text = inline;
    } else {
      const next = argv[i + 1];
      if (next === undefined || /^--./.test(next)) {
        const arg = 'key' in spec ? CONFIG_FIELDS[spec.key].arg : CLI_OPTIONS[spec.option].arg;
        throw new Error(`--${name} needs a value (${arg})`);
      }
      text = next;
      i++;
    }
    if ('key' in spec) {
      out.config[spec.key] = parseFieldText(spec.key, text);
    } else if (spec.option === 'port') {
      opts.port = parsePort(text);
    } else if (CLI_OPTIONS[spec.option].kind === 'boolean') {
      if (text !== 'true' && text !== 'false') {
        throw new Error(`--${name} must be true or false (got ${JSON.stringify(text)})`);
      }
      opts[spec.option] = text === 'true';
    } else {
      if (text === '') throw new Error(`--${name} needs a value (${CLI_OPTIONS[spec.option].arg})`);
      opts[spec.option] = text;
    }
  }
  return out;
}

/**
 * Turns `--flag value` pairs (flag names without dashes) into config settings, typed from
 * their text (checked later against the schema).
 */
export function flagsToConfig(
  values: Record<string, string | boolean | undefined>,
): Record<string, unknown> {
  const argv = Object.entries(values).flatMap(([flag, v]) =>
    v === undefined || v === false ? [] : v === true ? [`--${flag}`] : [`--${flag}=${v}`],
  );
  return parseCommandLine(argv).config;
}

/** Refuses the flags `command` does not take, naming the first. */
function onlyFlagsOf(command: Command, line: CommandLine): void {
  const settings = Object.keys(line.config) as ConfigKey[];
  if (command !== 'run' && settings.length) {
    throw new Error(`--${CONFIG_FIELDS[settings[0]].flag} is not an option of ${command}`);
  }
  for (const name of Object.keys(line.options) as CliOptionName[]) {
    if (!(CLI_OPTIONS[name].commands as Command[]).includes(command)) {
      throw new Error(`--${name} is not an option of ${command}`);
    }
  }
}

const errorText = (err: unknown): string =>
  err instanceof Error ? err.message.split('\n')[0] : String(err);

/**
 * Makes sure `dir` is a directory this process can write, creating it (and missing parents)
 * if need be; throws one line naming it otherwise. Does not use `mkdir -p` (`recursive`),
 * which spins forever under /proc.
 */
export function ensureWritableDir(dir: string, label: string): void {
  const abs = resolve(dir);
  const missing: string[] = [];
  let p = abs;
  while (!existsSync(p)) {
    missing.unshift(p);
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  if (existsSync(p) && !statSync(p).isDirectory()) {
    const where = p === abs ? 'it is a file' : `"${p}" is a file`;
    throw new Error(`${label} "${dir}" is not a directory (${where})`);
  }
  for (const m of missing) {
    try {
      mkdirSync(m);
    } catch (err) {
      throw new Error(`${label} "${dir}" cannot be created (${errorText(err)})`, {
        cause: err,
      });
    }
  }
  const probe = join(abs, `.phasewatch-write-check-${process.pid}`);
  try {
    writeFileSync(probe, '');
    unlinkSync(probe);
  } catch (err) {
    throw new Error(`${label} "${dir}" is not writable (${errorText(err)})`, { cause: err });
  }
}

/** One line for a script that does not load: its syntax error's file, line and column. */
function scriptLoadError(file: string, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const at = /^(.+?):(\d+):(\d+): ERROR: (.*)$/m.exec(message);
  if (at) {
    const where = relative(process.cwd(), at[1]) || at[1];
    return `script "${file}" has a syntax error at ${where}:${at[2]}:${at[3]}: ${at[4]}`;
  }
  return `script "${file}" failed to load: ${message.split('\n')[0]}`;
}

async function loadScript(file: string): Promise<Script> {
  if (!existsSync(resolve(file))) throw new Error(`script file "${file}" does not exist`);
  let mod: { default?: Script };
  try {
    mod = await importScript(file);
  } catch (err) {
    throw new Error(scriptLoadError(file, err), { cause: err });
  }
  let exported: unknown = mod.default;
  // A script outside an ESM package is compiled as CommonJS: all its exports arrive as
  // `default`, marked `__esModule`, and its own default export is `default.default`.
  if (
    typeof exported === 'object' &&
    exported !== null &&
    (exported as { __esModule?: unknown }).__esModule === true
  ) {
    exported = (exported as { default?: unknown }).default;
  }
  if (exported === undefined || exported === null) {
    throw new Error(`script "${file}" must have a default export: a config object or a function`);
  }
  return exported;
}

async function serve(
  runsDir: string,
  line: CommandLine,
  hub: Subject<RunEvent>,
): Promise<LiveServer> {
  const server = await startServer({
    runsDir,
    live$: hub,
    port: line.options.port ?? 4321,
    host: line.options.host,
    token: line.options.token,
  });
  process.stderr.write(`phasewatch: dashboard at ${server.url}\n`);
  return server;
}

/**
 * Draws progress on stderr: redrawn in place on a terminal, a line per snapshot otherwise. Each
 * run's total is the `steps` of its own stored config, so the bar counts to what really runs.
 */
function progressSink(runsDir: string): (e: RunEvent) => void {
  const tty = process.stderr.isTTY === true;
  const states = new Map<string, ProgressState>();
  let lastDraw = 0;
  return (e) => {
    const prev = states.get(e.runId) ?? newProgress(0, e.step, e.time);
    const state = advanceProgress(prev, e);
    states.set(e.runId, state);
    const prefix = states.size > 1 ? `${e.runId} ` : '';
    const cr = tty ? '\r\x1b[K' : '';
    if (tty && e.type === 'step' && e.time - lastDraw > 200) {
      lastDraw = e.time;
      process.stderr.write(`\r${prefix}${progressLine(state)}\x1b[K`);
    } else if (e.type === 'assessment') {
      process.stderr.write(
        `${cr}${prefix}${progressLine(state)} | at step ${e.step}: ${assessmentFiguresLine(e)}\n`,
      );
    } else if (e.type === 'phase') {
      process.stderr.write(`${cr}${prefix}phase ${e.from ?? '-'} → ${e.to} at step ${e.step}\n`);
    } else if (e.type === 'alert') {
      process.stderr.write(`${cr}${prefix}${e.level} at step ${e.step}: ${e.message}\n`);
    } else if (e.type === 'run-end') {
      const why = e.error ? `: ${e.error}` : '';
      process.stderr.write(
        `${cr}${prefix}run ${e.status} at step ${e.step}${why} (${join(runsDir, e.runId)})\n`,
      );
    }
  };
}

/** Where a run is resumed from: its own directory, checked, and the config it was started with. */
function resumeTarget(dir: string): { runsDir: string; config: ExperimentConfig } {
  if (!existsSync(dir)) throw new Error(`--resume "${dir}" does not exist`);
  if (!statSync(dir).isDirectory()) throw new Error(`--resume "${dir}" is not a directory`);
  const meta = readRunMeta(dir);
  if (meta.status === 'completed') {
    // Resuming would drop its run-end and train past its last step: not what the user meant.
    const at = meta.lastStep === undefined ? '' : ` at step ${meta.lastStep}`;
    throw new Error(
      `--resume "${dir}": the run completed${at}, nothing is left to resume (start a new run to train more)`,
    );
  }
  if (!existsSync(join(dir, 'events.jsonl'))) {
    throw new Error(`--resume "${dir}" has no events.jsonl to continue`);
  }
  return { runsDir: dirname(dir), config: configFromMeta(meta.config, dir) };
}

async function runCommand(line: CommandLine, signal?: AbortSignal): Promise<number> {
  const { options } = line;
  if (line.positionals.length > 1) {
    throw new Error(`run takes at most one script (got ${line.positionals.join(' ')})`);
  }
  const file = line.positionals[0];
  const resume = options.resume;
  const explicit = line.config;
  let config: ExperimentConfig;
  let runsDir: string;
  if (resume !== undefined) {
    const given = Object.keys(explicit) as ConfigKey[];
    if (given.length) {
      throw new Error(
        `--${CONFIG_FIELDS[given[0]].flag} cannot be used with --resume (a resumed run keeps its stored config)`,
      );
    }
    if (options.out !== undefined) {
      throw new Error('--out cannot be used with --resume (the run stays in its own directory)');
    }
    if (file !== undefined) {
      throw new Error('--resume continues a default-experiment run; it takes no script');
    }
    ({ config, runsDir } = resumeTarget(resume));
    ensureWritableDir(resume, '--resume');
  } else {
    config = checkConfig(explicit, 'flag');
    runsDir = options.out ?? 'runs';
    ensureWritableDir(runsDir, '--out');
  }
  const script = file !== undefined ? await loadScript(file) : undefined;
  if (script !== undefined && typeof script !== 'function') {
    try {
      config = checkConfig({ ...(script as object), ...explicit });
    } catch (err) {
      throw new Error(`script "${file}": ${errorText(err)}`, { cause: err });
    }
  }

  const hub = new Subject<RunEvent>();
  hub.subscribe(progressSink(runsDir));
  const stop = interrupts(signal);
  let server: LiveServer | undefined;
  let interrupted = false;
  let failure: unknown;
  // The error of the script's promise or stream. A run the error unsubscribed asks for it then
  // (the failure probe): a stream's error is set before its unsubscribe; a promise's rejection
  // is seen a few microtasks later, so until then the run's end waits for the script's outcome
  // (`settle`), at most one macrotask. Runs still going when the script fails are aborted.
  let scriptError: unknown;
  const waiting = new Set<(err: unknown) => void>();
  const ends: Promise<unknown>[] = [];
  const settle = (err: unknown) => {
    for (const decide of waiting) decide(err);
    waiting.clear();
  };
  const probe = (): unknown => {
    if (scriptError !== undefined || interrupted) return scriptError;
    const end = new Promise<unknown>((decide) => {
      waiting.add(decide);
      setImmediate(() => decide(undefined));
    });
    ends.push(end);
    return end;
  };
  const abort = new AbortController();
  try {
    server = options.serve ? await serve(runsDir, line, hub) : undefined;
    // The command line wins over a script's own run() overrides, which win over the defaults.
    const ctx = createScriptContext({
      config,
      runsDir,
      hub,
      resume,
      explicit,
      failure: probe,
      signal: abort.signal,
    });
    try {
      await new Promise<void>((done, fail) => {
        const failed = (err: unknown) => {
          scriptError = err;
          settle(err);
          abort.abort();
          fail(err instanceof Error ? err : new Error(String(err)));
        };
        let work: Observable<unknown> | Promise<unknown> | void;
        try {
          work = typeof script === 'function' ? script(ctx) : ctx.run(config);
        } catch (err) {
          failed(err);
          return;
        }
        if (isObservable(work)) {
          // Ctrl-C unsubscribes: training stops and each run is stored as 'stopped'.
          const sub = work.subscribe({ error: failed, complete: done });
          void stop.next.then(() => {
            interrupted = true;
            sub.unsubscribe();
            done();
          });
        } else {
          Promise.resolve(work).then(() => done(), failed);
          void stop.next.then(() => {
            interrupted = true;
            abort.abort();
            done();
          });
        }
      });
    } catch (err) {
      failure = err;
      process.stderr.write(`phasewatch: ${errorText(err)}\n`);
      if (process.env.PHASEWATCH_DEBUG && err instanceof Error) {
        process.stderr.write(`${err.stack}\n`);
      }
    }
    settle(undefined);
    await Promise.all(ends);
    if (server && !interrupted) {
      process.stderr.write(
        `phasewatch: training ended; still serving the dashboard at ${server.url} (Ctrl-C to stop)\n`,
      );
      await stop.next;
    }
  } finally {
    stop.dispose();
    hub.complete();
    await server?.close();
  }
  return failure === undefined ? 0 : 1;
}

async function serveCommand(line: CommandLine, signal?: AbortSignal): Promise<number> {
  if (line.positionals.length > 1) {
    throw new Error(`serve takes one runsDir (got ${line.positionals.join(' ')})`);
  }
  const runsDir = line.positionals[0] ?? 'runs';
  if (!existsSync(runsDir)) throw new Error(`runsDir "${runsDir}" does not exist`);
  if (!statSync(runsDir).isDirectory()) throw new Error(`runsDir "${runsDir}" is not a directory`);
  const stop = interrupts(signal);
  try {
    const server = await serve(runsDir, line, new Subject<RunEvent>());
    const runs = listRuns(runsDir).length;
    process.stderr.write(
      runs
        ? `phasewatch: serving ${runs} run${runs === 1 ? '' : 's'} from ${runsDir}\n`
        : `phasewatch: no runs in "${runsDir}" yet; serving it anyway (runs written there later appear in the dashboard)\n`,
    );
    await stop.next;
    await server.close();
  } finally {
    stop.dispose();
  }
  return 0;
}

export interface MainOptions {
  /** Aborting it acts as Ctrl-C (for callers that run the CLI in-process, e.g. tests). */
  signal?: AbortSignal;
}

/** Runs the CLI; returns the exit code. User errors print one line, never a stack. */
export async function main(argv: string[], opts: MainOptions = {}): Promise<number> {
  try {
    const first = argv.findIndex((a) => !a.startsWith('-'));
    if (first >= 0 && argv[first] === 'export') {
      return await exportCommand([...argv.slice(0, first), ...argv.slice(first + 1)]);
    }
    if (first >= 0 && argv[first] === 'report') {
      return await reportCommand([...argv.slice(0, first), ...argv.slice(first + 1)]);
    }
    if (first >= 0 && argv[first] === 'edit') {
      return editCommand([...argv.slice(0, first), ...argv.slice(first + 1)]);
    }
    // worker, sweep, serve --redis: engine/distributed (BullMQ is loaded only for them)
    if (isDistributedCommand(argv)) {
      const { distributedCommand } = await import('./distributed-command.js');
      const code = distributedCommand(argv, opts.signal);
      if (code) return await code;
    }
    const line = parseCommandLine(argv);
    const { command } = line;
    if (command === undefined || command === 'help' || line.options.help) {
      process.stdout.write(`${usage()}\n`);
      return command === undefined && !line.options.help ? 1 : 0;
    }
    if (command !== 'run' && command !== 'serve') {
      const near = didYouMean(command, ['run', 'serve', 'export', 'edit', 'report']);
      throw new Error(
        `command must be one of run, serve, export, edit, report (got "${command}")${near ? `; did you mean ${near}?` : ''}`,
      );
    }
    onlyFlagsOf(command, line);
    return command === 'run'
      ? await runCommand(line, opts.signal)
      : await serveCommand(line, opts.signal);
  } catch (err) {
    process.stderr.write(`phasewatch: ${errorText(err)}\n`);
    if (process.env.PHASEWATCH_DEBUG && err instanceof Error) {
      process.stderr.write(`${err.stack}\n`);
    }
    return 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    () => process.exit(1),
  );
}
