import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { RunEvent, RunMeta } from '../../../streams/events.js';
import { exec, npmEnv, packOnce, repoRoot } from '../../support/pack.js';

/**
 * Scripts run the way a user runs them: `npx phasewatch run <script> …` in a clone (the README's
 * command), and in a fresh project that installed the packed tarball (`npm install <tarball>`,
 * install scripts and all). What is judged is what lands on disk: events.jsonl and meta.json.
 */

/** A tiny configuration: each run takes seconds. */
const TINY = [
  '--steps',
  '40',
  '--snapshot-every',
  '20',
  '--samples',
  '16',
  '--size',
  '8',
  '--widths',
  '4,8,8',
  '--batch-size',
  '8',
  '--ddim-steps',
  '2',
  '--timesteps',
  '10',
  '--embed',
  'pca',
  '--confirm',
  '1',
];

/** A script with a snapshot operator, a per-step metric, a name and tags. */
const OWN = `import { emaMetric, metricsFrom } from 'phasewatch';
import type { ScriptContext } from 'phasewatch';

const brightness = metricsFrom(
  (s) => ({ mean: s.images.reduce((a, b) => a + b, 0) / s.images.length }),
  { prefix: 'custom' },
);

export default ({ run }: ScriptContext) =>
  run(
    { dx: 1 },
    {
      name: 'e2e own',
      tags: ['e2e', 'own'],
      operators: [brightness],
      stepOperators: [emaMetric('train/loss-ema', { decay: 0.9 })],
    },
  );
`;

/** A training loop of the user's own, logging as with wandb (argv: runsDir or --url URL). */
const LOOP = `import * as phasewatch from 'phasewatch';

const [where, url] = process.argv.slice(2);
const run = await phasewatch.init({
  name: 'my loop',
  config: { lr: 0.001 },
  tags: ['wandb-like'],
  ...(where === '--url' ? { url } : { runsDir: where }),
});
for (let step = 1; step <= 20; step++) {
  run.log({ 'train/loss': 1 / step, 'train/lr': 0.001 }, step);
}
try {
  run.log({ 'train/loss': 'high' }, 21);
} catch (err) {
  console.error(err.message);
}
run.log({ 'train/loss': 0.01 }, 22);
console.log(JSON.stringify(await run.finish()));
`;

/** A script whose stream throws at step 25. */
const THROWS = `import { tap } from 'rxjs';
import type { ScriptContext } from 'phasewatch';

export default ({ run }: ScriptContext) =>
  run({ dx: 1 }, { name: 'e2e throws' }).pipe(
    tap((e) => {
      if (e.type === 'step' && e.step === 25) throw new Error('diverged at step 25');
    }),
  );
`;

/** A script whose promise rejects: the error of a stream it awaited, after that run stopped. */
const REJECTS = `import { lastValueFrom, tap } from 'rxjs';
import type { ScriptContext } from 'phasewatch';

export default async ({ run }: ScriptContext) => {
  await lastValueFrom(
    run({ dx: 1 }, { name: 'e2e rejects' }).pipe(
      tap((e) => {
        if (e.type === 'step' && e.step === 25) throw new Error('diverged at step 25');
      }),
    ),
  );
};
`;

/** A script whose promise rejects while its run is still training. */
const REJECTS_LATER = `import type { ScriptContext } from 'phasewatch';

export default ({ run }: ScriptContext) =>
  new Promise((_, reject) => {
    run({ dx: 1 }, { name: 'e2e rejects later' }).subscribe((e) => {
      if (e.type === 'step' && e.step === 25) reject(new Error('loss is NaN at step 25'));
    });
  });
`;

interface Ran {
  code: number | null;
  stderr: string;
  meta: RunMeta;
  events: RunEvent[];
}

/** Runs `npx phasewatch run <script> …TINY --out <out>` in `cwd`; reads back the one run stored. */
async function phasewatch(cwd: string, script: string, out: string): Promise<Ran> {
  const child = spawn('npx', ['phasewatch', 'run', script, ...TINY, '--out', out], {
    cwd,
    env: npmEnv,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  const runs = existsSync(out) ? readdirSync(out) : [];
  expect(runs, `one run in ${out}; stderr:\n${stderr}`).to.have.length(1);
  const dir = path.join(out, runs[0]);
  const meta = JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8')) as RunMeta;
  const events = readFileSync(path.join(dir, 'events.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as RunEvent);
  return { code, stderr, meta, events };
}

const metricNames = (events: RunEvent[]): Set<string> =>
  new Set(events.flatMap((e) => (e.type === 'metric' ? [e.name] : [])));

const stepsOf = (events: RunEvent[]): number[] =>
  events.flatMap((e) => (e.type === 'step' ? [e.step] : []));

/** Stored failed with `error`, said in one line, exit 1; no step after `step` (+1 in flight). */
const failedWith = (r: Ran, name: string, error: string, step: number) => {
  expect(r.code, r.stderr).to.equal(1);
  expect(r.stderr).to.contain(`phasewatch: ${error}\n`);
  expect(r.stderr).not.to.match(/^\s+at /m);
  expect(r.meta).to.include({ name, status: 'failed', error });
  expect(r.events.at(-1)).to.include({ type: 'run-end', status: 'failed', error });
  expect(Math.max(...stepsOf(r.events))).to.be.within(step, step + 1);
};

/** The cases, the same from a clone and from the installed package. */
function cases(where: () => { cwd: string; scripts: string; out: string }): void {
  it('a script with a snapshot operator, a per-step metric, a name and tags', async () => {
    const { cwd, scripts, out } = where();
    const r = await phasewatch(cwd, path.join(scripts, 'own.ts'), path.join(out, 'own'));
    expect(r.code, r.stderr).to.equal(0);
    expect(r.meta).to.include({ name: 'e2e own', status: 'completed' });
    expect(r.meta.tags).to.deep.equal(['e2e', 'own']);
    // Where the addon builds here, the install script built it in the fresh project too.
    if (existsSync(path.join(repoRoot, 'build', 'Release', 'phasewatch_native.node'))) {
      expect(r.meta.backend).to.equal('native');
    }
    const names = metricNames(r.events);
    expect([...names]).to.include.members(['custom/mean', 'train/loss-ema', 'phase/accuracy']);
    const ema = r.events.filter((e) => e.type === 'metric' && e.name === 'train/loss-ema');
    expect(ema.map((e) => e.step)).to.deep.equal(stepsOf(r.events));
    expect(stepsOf(r.events)).to.have.length(40);
    const custom = r.events.filter((e) => e.type === 'metric' && e.name === 'custom/mean');
    expect(custom.map((e) => e.step)).to.deep.equal([20, 40]);
  });

  it('a script that throws: stored failed with its error, one line, exit 1', async () => {
    const { cwd, scripts, out } = where();
    const r = await phasewatch(cwd, path.join(scripts, 'throws.ts'), path.join(out, 'throws'));
    failedWith(r, 'e2e throws', 'diverged at step 25', 25);
    expect(Math.max(...stepsOf(r.events))).to.equal(25);
  });

  it('a script whose promise rejects: the same, not stopped', async () => {
    const { cwd, scripts, out } = where();
    const r = await phasewatch(cwd, path.join(scripts, 'rejects.ts'), path.join(out, 'rejects'));
    failedWith(r, 'e2e rejects', 'diverged at step 25', 25);
  });

  it('examples/custom-metric.ts', async () => {
    const { cwd, out } = where();
    const r = await phasewatch(cwd, 'examples/custom-metric.ts', path.join(out, 'custom'));
    expect(r.code, r.stderr).to.equal(0);
    expect(r.meta).to.include({ name: 'custom-metric', status: 'completed' });
    expect(r.meta.tags).to.deep.equal(['example']);
    expect([...metricNames(r.events)]).to.include.members([
      'custom/border',
      'custom/border-avg',
      'phase/accuracy',
    ]);
    expect(stepsOf(r.events)).to.have.length(40);
  });

  it('examples/bring-your-own-model.ts', async () => {
    const { cwd, out } = where();
    const r = await phasewatch(cwd, 'examples/bring-your-own-model.ts', path.join(out, 'byo'));
    expect(r.code, r.stderr).to.equal(0);
    expect(r.meta).to.include({ name: 'mlp-denoiser', status: 'completed' });
    expect(r.meta.tags).to.deep.equal(['example', 'byo-model']);
    expect([...metricNames(r.events)]).to.include('phase/accuracy');
    expect(r.events.filter((e) => e.type === 'phase')).to.have.length.above(0);
    expect(stepsOf(r.events)).to.have.length(40);
  });
}

describe('scripts through the phasewatch command, as users run them (e2e)', function () {
  this.timeout(180_000);
  let tmp = '';
  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'phasewatch-e2e-'));
    await mkdir(path.join(tmp, 'scripts'));
    writeFileSync(path.join(tmp, 'scripts', 'own.ts'), OWN);
    writeFileSync(path.join(tmp, 'scripts', 'throws.ts'), THROWS);
    writeFileSync(path.join(tmp, 'scripts', 'rejects.ts'), REJECTS);
    writeFileSync(path.join(tmp, 'scripts', 'rejects-later.ts'), REJECTS_LATER);
  });
  after(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  describe('from a clone: npx phasewatch run … in the repository', () => {
    cases(() => ({
      cwd: repoRoot,
      scripts: path.join(tmp, 'scripts'),
      out: path.join(tmp, 'clone'),
    }));

    it('a script whose promise rejects while its run trains: the run ends failed with it', async () => {
      const script = path.join(tmp, 'scripts', 'rejects-later.ts');
      const r = await phasewatch(repoRoot, script, path.join(tmp, 'clone', 'later'));
      failedWith(r, 'e2e rejects later', 'loss is NaN at step 25', 25);
    });

    it("a script's `import … from 'phasewatch'` gets the clone's sources, never a stale dist/", async () => {
      const dir = path.join(tmp, 'esm');
      await mkdir(dir);
      writeFileSync(path.join(dir, 'package.json'), '{ "type": "module" }');
      writeFileSync(
        path.join(dir, 'where.ts'),
        "import { EMPTY } from 'rxjs';\n" +
          "console.log(new URL(import.meta.resolve('phasewatch')).pathname);\n" +
          'export default () => EMPTY;\n',
      );
      const { stdout } = await exec('npx', ['phasewatch', 'run', path.join(dir, 'where.ts')], {
        cwd: repoRoot,
        env: npmEnv,
      });
      expect(stdout.trim()).to.equal(path.join(repoRoot, 'index.ts'));
    });
  });

  describe('from the packed tarball installed in a fresh project', function () {
    let project = '';
    before(async function () {
      this.timeout(600_000);
      const { tarball } = await packOnce();
      project = path.join(tmp, 'project');
      await mkdir(project);
      await exec('npm', ['init', '-y'], { cwd: project, env: npmEnv });
      // What a user types; the package's install script builds the native addon.
      await exec(
        'npm',
        [
          'install',
          tarball,
          '@tensorflow/tfjs',
          'rxjs',
          '--prefer-offline',
          '--no-audit',
          '--no-fund',
        ],
        { cwd: project, env: npmEnv, maxBuffer: 1 << 26 },
      );
      // The examples, copied next to the user's own scripts as a user would.
      await mkdir(path.join(project, 'examples'));
      for (const f of ['custom-metric.ts', 'bring-your-own-model.ts']) {
        copyFileSync(path.join(repoRoot, 'examples', f), path.join(project, 'examples', f));
      }
      for (const f of ['own.ts', 'throws.ts', 'rejects.ts']) {
        copyFileSync(path.join(tmp, 'scripts', f), path.join(project, f));
      }
      writeFileSync(path.join(project, 'loop.mjs'), LOOP);
    });
    cases(() => ({ cwd: project, scripts: project, out: path.join(tmp, 'package') }));

    /** Checks what `loop.mjs` stored: 21 values of train/loss (one refused), name, tags. */
    const checkLoop = (dir: string, stderr: string) => {
      expect(stderr).to.contain('run.log: "train/loss" must be a finite number (got "high")');
      const meta = JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8')) as RunMeta;
      expect(meta).to.include({ name: 'my loop', status: 'completed' });
      expect(meta.tags).to.deep.equal(['wandb-like']);
      expect(meta.config).to.deep.equal({ lr: 0.001 });
      const events = readFileSync(path.join(dir, 'events.jsonl'), 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as RunEvent);
      const losses = events.flatMap((e) =>
        e.type === 'metric' && e.name === 'train/loss' ? [e.step] : [],
      );
      expect(losses).to.deep.equal([...Array.from({ length: 20 }, (_, i) => i + 1), 22]);
      expect(events.at(-1)).to.include({ type: 'run-end', status: 'completed' });
    };

    it("a training loop of the user's own logs with phasewatch.init() to a runs dir", async () => {
      const runs = path.join(tmp, 'package', 'loop');
      const { stdout, stderr } = await exec(process.execPath, ['loop.mjs', runs], { cwd: project });
      const end = JSON.parse(stdout) as { runId: string; status: string };
      expect(end.status).to.equal('completed');
      checkLoop(path.join(runs, end.runId), stderr);
    });

    it('… and with { url } to a live `phasewatch serve`', async () => {
      const runs = path.join(tmp, 'package', 'served');
      await mkdir(runs);
      // The command npx runs, started directly so that stopping it stops the server.
      const bin = path.join(project, 'node_modules', '.bin', 'phasewatch');
      const server = spawn(bin, ['serve', runs, '--port', '0', '--token', 'e2e'], {
        cwd: project,
        env: npmEnv,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      try {
        const url = await new Promise<string>((resolve, reject) => {
          let seen = '';
          server.stderr.on('data', (chunk: Buffer) => {
            seen += chunk.toString();
            const m = /dashboard at (\S+)/.exec(seen);
            if (m) resolve(m[1]);
          });
          server.once('exit', (code) => reject(new Error(`serve exited (${code}): ${seen}`)));
        });
        const { stdout, stderr } = await exec(process.execPath, ['loop.mjs', '--url', url], {
          cwd: project,
        });
        const end = JSON.parse(stdout) as { runId: string; status: string };
        expect(end.status).to.equal('completed');
        checkLoop(path.join(runs, end.runId), stderr);
      } finally {
        server.kill('SIGTERM');
      }
    });
  });
});
