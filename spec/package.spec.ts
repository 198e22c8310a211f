import { expect } from 'chai';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  exec as run,
  npmEnv as env,
  packOnce,
  repoRoot as root,
  type Packed,
} from './support/pack.js';

const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');

/** What a user's program does with the package: train, snapshot, assess, locate, replay. */
const consumer = (typed: boolean): string => `
import { lastValueFrom, toArray } from 'rxjs';
import {
  assessSnapshot,
  gaussianBumps,
  locateBump,
  record,
  replay,
  RunStore,
  selectBackend,
  snapshotEvery,
  training,
  umapEmbedOffThread,
  umapWorkerRunning,
  unetDdpm,
} from 'phasewatch';
${typed ? "import type { Assessment, RunEvent, Snapshot } from 'phasewatch';" : ''}

// (TypeScript is only type-checked: tsc --init's types: [] leaves out Node's globals)
const runsDir = ${typed ? "'runs'" : "process.argv[2] ?? 'runs'"};
const backend = await selectBackend('cpu');
const data = gaussianBumps({ size: 8, dx: 2 });
const model = unetDdpm({ size: 8, widths: [4, 8, 8], groups: 2, seed: 1 });
const store = RunStore.create({ runsDir, backend, config: { steps: 2 } });
const stored${typed ? ': RunEvent[]' : ''} = await lastValueFrom(
  training(model, data, { steps: 2, batchSize: 4, seed: 1 }).pipe(record(store), toArray()),
);
const conditions = data.labels.slice(0, 24);
const snapshot${typed ? ': Snapshot' : ''} = await lastValueFrom(
  training(model, data, { steps: 2, batchSize: 4, seed: 2, startStep: 2 }).pipe(
    snapshotEvery(2, model, { conditions, size: 8, seed: 1, sampleSteps: 2 }),
  ),
);
const assessment${typed ? ': Assessment' : ''} = await assessSnapshot(snapshot, { embed: 'pca' });
const bump = locateBump(snapshot.images.subarray(0, 64), 8);
const umapped = await umapEmbedOffThread(snapshot.activations, snapshot.dim, { seed: 1, nEpochs: 20 });
const replayed = await lastValueFrom(replay(store.dir).pipe(toArray()));
model.dispose();
console.log(
  JSON.stringify({
    backend,
    stored: stored.map((e) => e.type),
    replayed: replayed.map((e) => e.type),
    step: snapshot.step,
    phase: assessment.phase,
    bumps: typeof bump.count,
    umap: umapped.length,
    umapWorker: umapWorkerRunning(),
  }),
);
`;

describe('the package as a dependency (npm pack → a fresh project)', function () {
  this.timeout(300000);
  let tmp = '';
  let project = '';
  let packed: Packed;

  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'phasewatch-package-'));
    // `npm pack` runs `prepare`: the library build (incremental) and the dashboard bundle.
    let tarball: string;
    ({ tarball, packed } = await packOnce());
    project = path.join(tmp, 'consumer');
    await mkdir(project);
    await writeFile(
      path.join(project, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
    );
    // From npm's cache (`npm ci` here put every dependency there), the registry only for what
    // is missing. No install scripts: `npm run build:native:check` checks the native build.
    await run(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball],
      { cwd: project, env, maxBuffer: 1 << 26 },
    );
  });

  after(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('ships the build, the dashboard bundle and the native sources, and nothing else', () => {
    const files = packed.files.map((f) => f.path);
    for (const f of [
      'package.json',
      'dist/index.js',
      'dist/index.d.ts',
      'engine/cli/bin.js',
      'dashboard/index.html',
      'dashboard/dist/app.js',
      'binding.gyp',
      'native/addon.cc',
      'native/ops_generated.h',
      'native/build.mjs',
      'native/gyp/common.gypi',
    ]) {
      expect(files, f).to.include(f);
    }
    const allowed =
      /^(package\.json|README\.md|binding\.gyp|engine\/cli\/bin\.js|dist\/.+\.(js|d\.ts)|dashboard\/(index\.html|dist\/app\.js)|native\/.+\.(cc|h|mjs|gypi))$/;
    expect(files.filter((f) => !allowed.test(f))).to.deep.equal([]);
    expect(files.some((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).to.equal(false);
  });

  it('trains, snapshots, assesses, locates and replays from plain Node ESM (.mjs)', async () => {
    await writeFile(path.join(project, 'main.mjs'), consumer(false));
    const { stdout } = await run(process.execPath, ['main.mjs', path.join(tmp, 'runs')], {
      cwd: project,
    });
    const out = JSON.parse(stdout.trim().split('\n').pop() ?? '') as {
      stored: string[];
      replayed: string[];
      step: number;
      phase: string;
      bumps: string;
      umap: number;
      umapWorker: boolean;
    };
    expect(out.stored).to.deep.equal(['run-start', 'step', 'step', 'run-end']);
    expect(out.replayed).to.deep.equal(out.stored);
    expect(out.step).to.equal(4);
    expect(['A', 'B', 'C']).to.include(out.phase);
    expect(out.bumps).to.equal('number');
    // UMAP ran on its worker thread, loaded from the built package (no TypeScript loader).
    expect(out.umap).to.equal(12 * 3); // 12 snapshot samples, 3-D
    expect(out.umapWorker).to.equal(true);
  });

  it('type-checks from TypeScript under `tsc --init` defaults with 0 errors', async () => {
    await run(process.execPath, [tsc, '--init'], { cwd: project });
    await writeFile(path.join(project, 'main.ts'), consumer(true));
    const result = await run(process.execPath, [tsc, '--noEmit', '-p', '.'], { cwd: project }).then(
      (r) => ({ code: 0, out: r.stdout }),
      (err: { code: number; stdout: string }) => ({ code: err.code, out: err.stdout }),
    );
    expect(result.out).to.equal('');
    expect(result.code).to.equal(0);
  });

  it('runs a TypeScript script outside any project with the phasewatch command', async () => {
    const elsewhere = path.join(tmp, 'elsewhere');
    await mkdir(elsewhere);
    await writeFile(
      path.join(elsewhere, 'script.ts'),
      [
        "import { EMPTY } from 'rxjs';",
        "import { locateBump, type ScriptContext } from 'phasewatch';",
        'export default (ctx: ScriptContext) => {',
        '  const n: number = ctx.config.steps;',
        '  console.log(`script ran: ${typeof locateBump} ${n}`);',
        '  return EMPTY;',
        '};',
      ].join('\n'),
    );
    const bin = path.join(project, 'node_modules', 'phasewatch', 'engine', 'cli', 'bin.js');
    const { stdout } = await run(
      process.execPath,
      [
        bin,
        'run',
        path.join(elsewhere, 'script.ts'),
        '--steps',
        '7',
        '--out',
        path.join(tmp, 'cli-runs'),
      ],
      { cwd: elsewhere },
    );
    expect(stdout).to.contain('script ran: function 7');
  });
});
