import { expect } from 'chai';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import {
  ensureWritableDir,
  flagsToConfig,
  main,
  parseCommandLine,
  usage,
} from '../../../engine/cli/cli.js';
import { CONFIG_FIELDS, CONFIG_KEYS } from '../../../engine/experiment/config.js';
import { readRunEvents } from '../../../streams/replay.js';

interface Captured {
  code: Promise<number>;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves with the first stderr match of `re`. */
  waitFor(re: RegExp, ms?: number): Promise<RegExpMatchArray>;
}

/**
 * Runs the CLI in-process, capturing stderr (and stdout) while it runs; `abort` acts as Ctrl-C.
 * Captures are nested safely: each restores what it replaced.
 */
function start(args: string[], signal?: AbortSignal): Captured {
  const writeErr = process.stderr.write.bind(process.stderr);
  const writeOut = process.stdout.write.bind(process.stdout);
  let text = '';
  const capture = ((chunk: string | Uint8Array) => {
    text += chunk.toString();
    return true;
  }) as typeof process.stderr.write;
  process.stderr.write = capture;
  process.stdout.write = capture;
  const code = main(args, { signal }).finally(() => {
    process.stderr.write = writeErr;
    process.stdout.write = writeOut;
  });
  return {
    code,
    stderr: () => text,
    waitFor: async (re, ms = 50_000) => {
      const until = Date.now() + ms;
      for (;;) {
        const m = re.exec(text);
        if (m) return m;
        if (Date.now() > until) throw new Error(`no ${re} in stderr:\n${text}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

async function cli(args: string[]): Promise<{ code: number; stderr: string }> {
  const run = start(args);
  const code = await run.code;
  return { code, stderr: run.stderr() };
}

/** A model small enough that a run of a few steps takes seconds on the cpu backend. */
const TINY = [
  '--backend=cpu',
  '--size=8',
  '--widths=4,8,8',
  '--dx=1',
  '--samples=24',
  '--batch-size=8',
  '--ddim-steps=2',
  '--timesteps=10',
  '--confirm=1',
  '--embed=pca',
];

const stepsOf = (runDir: string): number[] =>
  readRunEvents(runDir)
    .filter((e) => e.type === 'step')
    .map((e) => e.step);

const meta = (runDir: string): Record<string, unknown> & { config: Record<string, unknown> } =>
  JSON.parse(readFileSync(join(runDir, 'meta.json'), 'utf8'));

describe('cli', () => {
  let out: string;
  beforeEach(() => {
    out = mkdtempSync(join(tmpdir(), 'pw-cli-'));
  });
  afterEach(() => rmSync(out, { recursive: true, force: true }));

  describe('bad input gets one line and exit code 1', () => {
    const bad: [string[], RegExp][] = [
      [['run', '--stesp', '3'], /^phasewatch: unknown flag --stesp \(did you mean --steps\?\)$/],
      [
        ['run', '--batchsize=3'],
        /^phasewatch: unknown flag --batchsize \(did you mean --batch-size\?\)$/,
      ],
      [['run', '--quantum'], /^phasewatch: unknown flag --quantum$/],
      [['run', '--dx', '-1'], /^phasewatch: --dx must be a number > 0 and <= 255 \(got -1\)$/],
      [['run', '--dx', 'abc'], /^phasewatch: --dx must be a number > 0 .*\(got "abc"\)$/],
      [['run', '--dx'], /^phasewatch: --dx needs a value \(X\)$/],
      [
        ['run', '--size', '0'],
        /^phasewatch: --size must be a multiple of 8 from 8 to 256 \(got 0\)$/,
      ],
      [
        ['run', '--backend', 'quantum'],
        /^phasewatch: --backend must be one of auto, .*\(got "quantum"\)$/,
      ],
      [['run', '--widths', '8,16'], /^phasewatch: --widths must be three integers/],
      [
        ['run', '--port', '99999', '--serve'],
        /^phasewatch: --port must be an integer from 0 to 65535 \(got "99999"\)$/,
      ],
      [
        ['run', '--steps', '1e12'],
        /^phasewatch: --steps must be an integer from 1 to 1000000000 \(got 1000000000000\)$/,
      ],
      [['run', '--steps', 'Infinity'], /^phasewatch: --steps must be .* \(got Infinity\)$/],
      [
        ['run', '--lr', 'Infinity'],
        /^phasewatch: --lr must be a number > 0 and <= 1 \(got Infinity\)$/,
      ],
      [
        ['run', '--dx', '1e-6'],
        /^phasewatch: --dx 0\.000001 and --dy 0\.000001 at size 16 give 1\.21e\+14 training images; at most 10000000 are held in memory/,
      ],
      [
        ['run', '--ddim-steps', '50', '--timesteps', '10'],
        /^phasewatch: --ddim-steps must be <= timesteps = 10 \(got 50\)$/,
      ],
      [['run', '--serve=maybe'], /^phasewatch: --serve must be true or false \(got "maybe"\)$/],
      [['run', 'a.ts', 'b.ts'], /^phasewatch: run takes at most one script/],
      [
        ['run', 'no-such-script.ts'],
        /^phasewatch: script file "no-such-script.ts" does not exist$/,
      ],
      [
        ['fly'],
        /^phasewatch: command must be one of run, serve, export, edit, report \(got "fly"\)$/,
      ],
      [['serbe'], /did you mean serve\?$/],
      [['serve', '--steps', '3'], /^phasewatch: --steps is not an option of serve$/],
      [['serve', '--out', 'x'], /^phasewatch: --out is not an option of serve$/],
    ];
    for (const [args, message] of bad) {
      it(args.join(' '), async () => {
        const withOut = args[0] === 'run' ? [...args, '--out', out] : args;
        const { code, stderr } = await cli(withOut);
        expect(code).to.equal(1);
        expect(stderr.trim().split('\n'), stderr).to.have.length(1);
        expect(stderr.trim()).to.match(message);
      });
    }
  });

  describe('--out is checked before anything starts', () => {
    it('refuses /proc/x at once instead of hanging', async () => {
      const { code, stderr } = await cli(['run', '--out', '/proc/x/runs']);
      expect(code).to.equal(1);
      expect(stderr.trim()).to.match(
        /^phasewatch: --out "\/proc\/x\/runs" cannot be created \(ENOENT/,
      );
    });

    it('refuses a file', async () => {
      const file = join(out, 'file');
      writeFileSync(file, 'x');
      expect((await cli(['run', '--out', file])).stderr.trim()).to.equal(
        `phasewatch: --out "${file}" is not a directory (it is a file)`,
      );
      expect((await cli(['run', '--out', join(file, 'runs')])).stderr.trim()).to.equal(
        `phasewatch: --out "${join(file, 'runs')}" is not a directory ("${file}" is a file)`,
      );
    });

    it('refuses a path that cannot be written', async function () {
      if (!existsSync('/sys/kernel')) this.skip();
      const { code, stderr } = await cli(['run', '--out', '/sys/kernel/phasewatch-runs']);
      expect(code).to.equal(1);
      expect(stderr.trim()).to.match(
        /^phasewatch: --out "\/sys\/kernel\/phasewatch-runs" cannot be created \((EPERM|EACCES|EROFS)/,
      );
    });

    it('creates missing directories and leaves no probe file', () => {
      const dir = join(out, 'a', 'b');
      ensureWritableDir(dir, '--out');
      expect(existsSync(dir)).to.equal(true);
      ensureWritableDir(dir, '--out');
      expect(existsSync(join(dir, `.phasewatch-write-check-${process.pid}`))).to.equal(false);
    });
  });

  describe('--resume', () => {
    it('says in one line when meta.json has no config', async () => {
      const dir = join(out, 'r1');
      mkdirSync(dir);
      writeFileSync(join(dir, 'meta.json'), JSON.stringify({ runId: 'r1', status: 'stopped' }));
      writeFileSync(join(dir, 'events.jsonl'), '');
      const { code, stderr } = await cli(['run', '--resume', dir]);
      expect(code).to.equal(1);
      expect(stderr.trim()).to.equal(
        `phasewatch: runDir "${dir}" has no config in its meta.json (got nothing)`,
      );
    });

    it('names the field of a stored config that is no longer valid', async () => {
      const dir = join(out, 'r2');
      mkdirSync(dir);
      writeFileSync(join(dir, 'meta.json'), JSON.stringify({ runId: 'r2', config: { dx: 0 } }));
      writeFileSync(join(dir, 'events.jsonl'), '');
      expect((await cli(['run', '--resume', dir])).stderr.trim()).to.equal(
        `phasewatch: runDir "${dir}" has a config that is not valid: dx must be a number > 0 and <= 255 (got 0)`,
      );
    });

    it('refuses a completed run in one line and leaves its log as it was', async function () {
      this.timeout(120_000);
      const runsDir = join(out, 'done');
      const first = await cli([
        'run',
        ...TINY,
        '--steps=4',
        '--snapshot-every=2',
        '--out',
        runsDir,
      ]);
      expect(first.code, first.stderr).to.equal(0);
      const dir = join(runsDir, readdirSync(runsDir)[0]);
      const log = readFileSync(join(dir, 'events.jsonl'));
      const { code, stderr } = await cli(['run', '--resume', dir]);
      expect(code).to.equal(1);
      expect(stderr.trim()).to.equal(
        `phasewatch: --resume "${dir}": the run completed at step 4, nothing is left to resume (start a new run to train more)`,
      );
      expect(readFileSync(join(dir, 'events.jsonl')).equals(log)).to.equal(true);
      expect(JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'))).to.include({
        status: 'completed',
      });
    });

    it('refuses a missing dir, settings and --out', async () => {
      expect((await cli(['run', '--resume', join(out, 'nope')])).stderr.trim()).to.equal(
        `phasewatch: --resume "${join(out, 'nope')}" does not exist`,
      );
      expect((await cli(['run', '--resume', out, '--steps', '5'])).stderr.trim()).to.equal(
        'phasewatch: --steps cannot be used with --resume (a resumed run keeps its stored config)',
      );
      expect((await cli(['run', '--resume', out, '--out', out])).stderr.trim()).to.equal(
        'phasewatch: --out cannot be used with --resume (the run stays in its own directory)',
      );
    });
  });

  describe('scripts', () => {
    it('reports a syntax error with file, line and column in one line', async () => {
      const file = join(out, 'broken.ts');
      writeFileSync(
        file,
        'const x = 1;\nexport default (ctx) => {\n  return ctx.run({ steps: 1 );\n};\n',
      );
      const { code, stderr } = await cli(['run', file, '--out', out]);
      expect(code).to.equal(1);
      expect(stderr.trim().split('\n')).to.have.length(1);
      expect(stderr.trim()).to.match(
        /^phasewatch: script ".*broken\.ts" has a syntax error at .*broken\.ts:3:28: Expected "}" but found "\)"$/,
      );
    });

    it('reports an error thrown while loading in one line', async () => {
      const file = join(out, 'throws.ts');
      writeFileSync(file, 'throw new Error("no GPU here");\nexport default {};\n');
      expect((await cli(['run', file, '--out', out])).stderr.trim()).to.equal(
        `phasewatch: script "${file}" failed to load: no GPU here`,
      );
    });

    it('names an unknown key of a config script with "did you mean"', async () => {
      const file = join(out, 'settings.ts');
      writeFileSync(file, 'export default { stesp: 10 };\n');
      expect((await cli(['run', file, '--out', out])).stderr.trim()).to.equal(
        `phasewatch: script "${file}": unknown config key "stesp" (did you mean "steps"?)`,
      );
    });

    it('says so in one line when a script has no default export', async () => {
      const file = join(out, 'nodefault.ts');
      writeFileSync(file, 'export const steps = 3;\n');
      expect((await cli(['run', file, '--out', out])).stderr.trim()).to.equal(
        `phasewatch: script "${file}" must have a default export: a config object or a function`,
      );
    });

    it('names an unknown key a script passes to run() with "did you mean"', async () => {
      const file = join(out, 'typo.ts');
      writeFileSync(file, 'export default (ctx) => ctx.run({ snapshotEvry: 3 });\n');
      const { code, stderr } = await cli(['run', file, '--out', out]);
      expect(code).to.equal(1);
      expect(stderr.trim()).to.equal(
        'phasewatch: unknown config key "snapshotEvry" (did you mean "snapshotEvery"?)',
      );
    });

    it('a composition that fails exits 1 with its error in one line', async () => {
      const file = join(out, 'fails.ts');
      writeFileSync(
        file,
        'export default (ctx) => {\n' +
          '  const Observable = ctx.run().constructor;\n' +
          "  return new Observable((s) => s.error(new Error('probe diverged')));\n" +
          '};\n',
      );
      const { code, stderr } = await cli(['run', file, '--out', out]);
      expect(code).to.equal(1);
      expect(stderr.trim()).to.equal('phasewatch: probe diverged');
    });

    it('the command line overrides run() overrides, and the bar counts to what runs', async () => {
      const file = join(out, 'long.ts');
      writeFileSync(
        file,
        'export default (ctx) => ctx.run({ steps: 9, snapshotEvery: 3, runId: "s1" });\n',
      );
      const run = start(['run', file, ...TINY, '--steps', '4', '--out', out]);
      expect(await run.code, run.stderr()).to.equal(0);
      expect(stepsOf(join(out, 's1'))).to.deep.equal([1, 2, 3, 4]);
      expect(meta(join(out, 's1')).config).to.include({ steps: 4, snapshotEvery: 3 });
      expect(run.stderr()).to.match(/step \d+\/4 /);
      expect(run.stderr()).not.to.match(/step \d+\/(9|3000) /);
      expect(run.stderr()).to.contain(`run completed at step 4 (${join(out, 's1')})`);
    });

    it("keeps run()'s second argument: the script's snapshot and step operators, name, tags, notes", async () => {
      const file = join(out, 'own.ts');
      writeFileSync(
        file,
        [
          "import { emaMetric, metricsFrom } from 'phasewatch';",
          'const mean = metricsFrom((s) => ({ mean: s.images[0] }), { prefix: "mine" });',
          'export default ({ run }) =>',
          '  run({ steps: 4, snapshotEvery: 2, runId: "own" },',
          '    { name: "mine", tags: ["a", "b"], notes: "n", operators: [mean],',
          '      stepOperators: [emaMetric("train/loss-ema")] });',
        ].join('\n'),
      );
      const run = start(['run', file, ...TINY, '--out', out]);
      expect(await run.code, run.stderr()).to.equal(0);
      const mine = readRunEvents(join(out, 'own')).filter(
        (e) => e.type === 'metric' && e.name === 'mine/mean',
      );
      expect(mine.map((e) => e.step)).to.deep.equal([2, 4]);
      const ema = readRunEvents(join(out, 'own')).filter(
        (e) => e.type === 'metric' && e.name === 'train/loss-ema',
      );
      expect(ema.map((e) => e.step)).to.deep.equal([1, 2, 3, 4]);
      expect(meta(join(out, 'own'))).to.include({ name: 'mine', notes: 'n', status: 'completed' });
      expect(meta(join(out, 'own')).tags).to.deep.equal(['a', 'b']);
    });

    for (const [kind, body] of [
      ['run()', 'run({ steps: 6, snapshotEvery: 3, runId: "th" })'],
      [
        'createRun + record',
        'ctx.blocks.training(ctx.blocks.unetDdpm({ size: 8, widths: [4, 8, 8] }), ctx.blocks.gaussianBumps({ size: 8, dx: 1 }), { steps: 6, batchSize: 4 }).pipe(ctx.record(ctx.createRun({ runId: "th", config: {} })))',
      ],
    ] as const) {
      it(`a stream that throws downstream of ${kind} stores the run failed with its error, exit 1`, async () => {
        const file = join(out, 'throws.ts');
        writeFileSync(
          file,
          [
            "import { tap } from 'rxjs';",
            'export default (ctx) => {',
            '  const run = ctx.run;',
            `  return ${body}.pipe(`,
            "    tap((e) => { if (e.type === 'step' && e.step === 3) throw new Error('diverged at step 3'); }),",
            '  );',
            '};',
          ].join('\n'),
        );
        const { code, stderr } = await cli(['run', file, ...TINY, '--out', out]);
        expect(code, stderr).to.equal(1);
        expect(stderr).to.contain('phasewatch: diverged at step 3\n');
        expect(meta(join(out, 'th'))).to.include({
          status: 'failed',
          error: 'diverged at step 3',
        });
        expect(readRunEvents(join(out, 'th')).at(-1)).to.include({
          type: 'run-end',
          status: 'failed',
          error: 'diverged at step 3',
        });
      });
    }

    it("--name and --tags win over run()'s own", async () => {
      const file = join(out, 'named.ts');
      writeFileSync(
        file,
        'export default ({ run }) => run({ steps: 2, snapshotEvery: 2, runId: "nm" }, { name: "script", tags: ["s"] });\n',
      );
      const run = start(['run', file, ...TINY, '--name', 'flag', '--tags', 'f', '--out', out]);
      expect(await run.code, run.stderr()).to.equal(0);
      expect(meta(join(out, 'nm'))).to.include({ name: 'flag' });
      expect(meta(join(out, 'nm')).tags).to.deep.equal(['f']);
    });

    it('the command line overrides a config script too', async () => {
      const file = join(out, 'settings.ts');
      writeFileSync(
        file,
        'export default { steps: 9, snapshotEvery: 2, runId: "s2", tags: ["from-script"] };\n',
      );
      const run = start(['run', file, ...TINY, '--steps', '3', '--out', out]);
      expect(await run.code, run.stderr()).to.equal(0);
      expect(stepsOf(join(out, 's2'))).to.deep.equal([1, 2, 3]);
      expect(meta(join(out, 's2')).config).to.include({ steps: 3, snapshotEvery: 2 });
      expect(meta(join(out, 's2')).tags).to.deep.equal(['from-script']);
    });
  });

  describe('runs', () => {
    it('stores name, tags and notes given as flags', async () => {
      const args = ['run', ...TINY, '--steps=2', '--snapshot-every=2', '--run-id=n1'];
      const run = start([
        ...args,
        '--name',
        'first try',
        '--tags',
        'dx, small',
        '--notes',
        'see issue 8',
        '--out',
        out,
      ]);
      expect(await run.code, run.stderr()).to.equal(0);
      const m = meta(join(out, 'n1'));
      expect(m).to.include({ name: 'first try', notes: 'see issue 8', status: 'completed' });
      expect(m.tags).to.deep.equal(['dx', 'small']);
    });

    it('Ctrl-C stops training: stored as stopped, exit 0, nothing served after', async () => {
      const ctl = new AbortController();
      const args = [
        'run',
        ...TINY,
        '--steps=400',
        '--snapshot-every=1000',
        '--run-id=c1',
        '--out',
        out,
      ];
      const run = start([...args, '--serve', '--port', '0'], ctl.signal);
      const events = join(out, 'c1', 'events.jsonl');
      for (;;) {
        if (existsSync(events) && readFileSync(events, 'utf8').includes('"type":"step"')) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      ctl.abort();
      expect(await run.code, run.stderr()).to.equal(0);
      expect(meta(join(out, 'c1')).status).to.equal('stopped');
      expect(stepsOf(join(out, 'c1')).length).to.be.below(400);
      expect(run.stderr()).not.to.contain('still serving');
    });

    it('run --serve keeps serving after training ends, until Ctrl-C', async () => {
      const ctl = new AbortController();
      const args = ['run', ...TINY, '--steps=2', '--snapshot-every=2', '--run-id=v1', '--out', out];
      const run = start([...args, '--serve', '--port', '0'], ctl.signal);
      const [, url] = await run.waitFor(/still serving the dashboard at (\S+) \(Ctrl-C to stop\)/);
      expect(run.stderr()).to.contain(`run completed at step 2 (${join(out, 'v1')})`);
      let ended = false;
      void run.code.then(() => (ended = true));
      await new Promise((r) => setTimeout(r, 300));
      expect(ended).to.equal(false);
      const page = await fetch(url);
      expect(page.status).to.equal(200);
      ctl.abort();
      expect(await run.code).to.equal(0);
      await fetch(url).then(
        () => expect.fail('the server should be closed'),
        () => undefined,
      );
    });

    it('run --resume DIR --serve serves the run’s own runs dir and prints its path', async () => {
      // A run stopped (Ctrl-C) after its first step: a completed one is not resumed.
      const base = ['run', ...TINY, '--steps=100', '--snapshot-every=1000', '--run-id=z1'];
      const stop = new AbortController();
      const first = start([...base, '--out', out], stop.signal);
      const dir = join(out, 'z1');
      const events = join(dir, 'events.jsonl');
      while (!(existsSync(events) && readFileSync(events, 'utf8').includes('"type":"step"'))) {
        await new Promise((r) => setTimeout(r, 20));
      }
      stop.abort();
      expect(await first.code, first.stderr()).to.equal(0);
      expect(meta(dir).status).to.equal('stopped');
      const ctl = new AbortController();
      const run = start(['run', '--resume', dir, '--serve', '--port', '0'], ctl.signal);
      const [, url] = await run.waitFor(/still serving the dashboard at (\S+) /);
      expect(run.stderr()).to.contain(`run completed at step 100 (${dir})`);
      const ws = new WebSocket(`${url.replace(/^http/, 'ws').replace(/\/(\?|$)/, '/ws$1')}`);
      const runs = await new Promise<{ runId: string }[]>((resolve, reject) => {
        ws.on('message', (data) => {
          const msg = JSON.parse(data.toString()) as { type: string; runs?: { runId: string }[] };
          if (msg.type === 'runs') resolve(msg.runs ?? []);
        });
        ws.on('error', reject);
      });
      ws.close();
      expect(runs.map((r) => r.runId)).to.include('z1');
      ctl.abort();
      expect(await run.code).to.equal(0);
    });

    it('export writes a stored run as CSV', async () => {
      const base = ['run', ...TINY, '--steps=2', '--snapshot-every=2', '--run-id=e1', '--out', out];
      expect((await cli(base)).code).to.equal(0);
      const file = join(out, 'e1.csv');
      const { code, stderr } = await cli(['export', join(out, 'e1'), '--csv', file]);
      expect(code, stderr).to.equal(0);
      expect(readFileSync(file, 'utf8').split('\n').length).to.be.above(2);
    });
  });

  describe('serve', () => {
    it('says so when the directory holds no runs, and serves it anyway', async () => {
      const ctl = new AbortController();
      const run = start(['serve', out, '--port', '0'], ctl.signal);
      await run.waitFor(/no runs in ".*" yet; serving it anyway/);
      expect(run.stderr()).to.match(/dashboard at http:\/\/127\.0\.0\.1:\d+/);
      ctl.abort();
      expect(await run.code).to.equal(0);
    });

    it('refuses a directory that does not exist', async () => {
      const { code, stderr } = await cli(['serve', join(out, 'nope')]);
      expect(code).to.equal(1);
      expect(stderr.trim()).to.equal(`phasewatch: runsDir "${join(out, 'nope')}" does not exist`);
    });
  });

  describe('flags and --help come from the config schema', () => {
    it('every config field with a flag is in --help, with its default', () => {
      const text = usage();
      for (const key of CONFIG_KEYS) {
        const f = CONFIG_FIELDS[key];
        if (!f.flag) continue;
        expect(text, key).to.contain(`--${f.flag}`);
        if (f.default !== undefined && !Array.isArray(f.default)) {
          expect(text, key).to.contain(`[${String(f.default)}]`);
        }
      }
    });

    it('--help prints the usage and exits 0; no command exits 1', async () => {
      const help = await cli(['run', '--help']);
      expect(help.code).to.equal(0);
      expect(help.stderr).to.contain('--snapshot-every N');
      expect((await cli([])).code).to.equal(1);
    });

    it('parses --flag value, --flag=value, negative values and booleans', () => {
      const line = parseCommandLine([
        'run',
        'x.ts',
        '--steps',
        '10',
        '--dx=-1',
        '--attention',
        '--serve',
        '--port',
        '0',
      ]);
      expect(line.command).to.equal('run');
      expect(line.positionals).to.deep.equal(['x.ts']);
      expect(line.config).to.deep.equal({ steps: 10, dx: -1, attention: true });
      expect(line.options).to.deep.equal({ serve: true, port: 0 });
      expect(parseCommandLine(['run', '--dx', '-0.5']).config).to.deep.equal({ dx: -0.5 });
    });

    it('maps flags onto config fields', () => {
      expect(
        flagsToConfig({
          steps: '10',
          'snapshot-every': '5',
          widths: '8,16,32',
          embed: 'pca',
          tags: 'a,b',
        }),
      ).to.deep.equal({
        steps: 10,
        snapshotEvery: 5,
        widths: [8, 16, 32],
        embed: 'pca',
        tags: ['a', 'b'],
      });
    });
  });
});
