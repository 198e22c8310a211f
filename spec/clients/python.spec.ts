import { expect } from 'chai';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { connect as netConnect, type Socket } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Subject } from 'rxjs';
import { startServer, type LiveServer } from '../../engine/server/live-server.js';
import type { RunEvent } from '../../streams/events.js';
import { readRunEvents } from '../../streams/replay.js';
import { freePort, startServe } from '../engine/server/serve-process.js';

const CLIENT_DIR = resolve('clients/python');
const SYSTEM_PYTHON = '/usr/bin/python3';

function python(
  exe: string,
  args: string[],
  timeoutMs = 120_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      exe,
      args,
      {
        env: { ...process.env, PYTHONPATH: CLIENT_DIR, PYTHONDONTWRITEBYTECODE: '1' },
        timeout: timeoutMs,
        maxBuffer: 1 << 24,
      },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        done({ code: typeof code === 'number' ? code : 1, stdout, stderr });
      },
    );
  });
}

/** True when `exe` runs and can import `module`. */
async function has(exe: string, module: string): Promise<boolean> {
  return (
    (await python(exe, ['-c', `import ${module}`], 60_000).catch(() => ({ code: 1 }))).code === 0
  );
}

interface SmokeResult {
  runId: string;
  failingId: string;
  forgotId: string;
  snap1: { count: number; size: number; dim: number };
  finish: { status: string; phase: string };
  status: { status: string; name: string; open: boolean };
  errors: Record<string, string>;
}

describe('clients/python (phasewatch_client.py against a live server)', function () {
  this.timeout(180_000);
  let runsDir: string;
  let server: LiveServer;
  let url: string;

  before(async function () {
    if (!existsSync(SYSTEM_PYTHON)) {
      console.log(
        `      (skipped: no ${SYSTEM_PYTHON}; the HTTP API is tested in spec/engine/server/ingest.spec.ts)`,
      );
      this.skip();
    }
    runsDir = mkdtempSync(join(tmpdir(), 'pw-python-'));
    server = await startServer({
      runsDir,
      live$: new Subject<RunEvent>(),
      port: 0,
      token: 'py-tok',
    });
    url = server.url;
  });
  after(async () => {
    await server?.close();
    if (runsDir) rmSync(runsDir, { recursive: true, force: true });
  });

  async function smoke(exe: string, args: string[] = []): Promise<SmokeResult> {
    const r = await python(exe, [resolve('spec/clients/python-smoke.py'), url, ...args]);
    expect(r.code, r.stderr).to.equal(0);
    return JSON.parse(r.stdout.trim().split('\n').pop() as string) as SmokeResult;
  }

  function checkRun(out: SmokeResult): void {
    const events = readRunEvents(join(runsDir, out.runId));
    const metrics = events.filter((e) => e.type === 'metric' && e.name === 'loss');
    expect(metrics.map((e) => e.step)).to.deep.equal(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(events.filter((e) => e.type === 'metric' && e.name === 'probe/acc')).to.have.length(20);
    expect(events.filter((e) => e.type === 'step')).to.have.length(20);
    expect(events.find((e) => e.type === 'alert')).to.include({
      level: 'info',
      message: 'halfway',
    });
    expect(out.snap1).to.include({ count: 30, size: 8, dim: 6 });
    const assessments = events.filter((e) => e.type === 'assessment') as Extract<
      RunEvent,
      { type: 'assessment' }
    >[];
    expect(assessments.map((a) => a.step)).to.deep.equal([10, 20]);
    expect(assessments[0].accuracy).to.equal(1);
    expect(assessments[1].phase).to.equal('A');
    expect(out.finish).to.include({ status: 'completed', phase: 'A' });
    expect(out.status).to.include({ status: 'completed', name: 'python smoke', open: false });
    const meta = JSON.parse(readFileSync(join(runsDir, out.runId, 'meta.json'), 'utf8'));
    expect(meta.backend).to.equal('python');
    expect(out.errors.badValue).to.equal("loss must be a finite number (got 'high')");
    expect(out.errors.badStep).to.equal('step must be an integer >= 0 (got -1)');
    expect(out.errors.nan).to.equal('loss must be a finite number (got nan)');
    expect(out.errors.kind).to.match(/^kind must be one of metric, curve, .* \(got 'histogram'\)$/);
    expect(out.errors.server).to.match(
      /^POST \/api\/runs\/.*\/events: 400 \[0\]\.type: must be one of metric/,
    );
    expect(out.errors.sameStep).to.match(
      /: 409 step must be above the run's last snapshot step 20 \(got 20\)$/,
    );
    expect(out.errors.afterFinish).to.match(/has finished$/);
    expect(out.errors.token).to.match(/^POST \/api\/runs: 401 missing or wrong token/);
    const failing = readRunEvents(join(runsDir, out.failingId));
    expect(failing[failing.length - 1]).to.include({
      type: 'run-end',
      status: 'failed',
      error: 'RuntimeError: CUDA out of memory',
    });
    const forgot = readRunEvents(join(runsDir, out.forgotId));
    expect(forgot.map((e) => e.type)).to.deep.equal(['run-start', 'metric', 'alert', 'run-end']);
    expect(forgot[2]).to.include({
      message: 'stopped: the script exited without run.finish()',
      step: 1,
    });
    expect(forgot[3]).to.include({ status: 'stopped', step: 1 });
  }

  it('streams a run with the standard library only (/usr/bin/python3, raw float32 snapshots)', async () => {
    checkRun(await smoke(SYSTEM_PYTHON));
  });

  it('checks each event at the call, and a refused event among 600 good ones takes none with it', async () => {
    const r = await python(SYSTEM_PYTHON, [resolve('spec/clients/python-refused.py'), url]);
    expect(r.code, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop() as string) as {
      runId: string;
      errors: Record<string, string>;
      refused: string[];
      disks: { warning?: string };
      finish: { status: string };
    };
    expect(out.errors.points).to.equal(
      'embedding.points must be N x 3 numbers: N rows [x, y, z] or a flat [x, y, z, x, y, z, ...]; row 0 is [0, 1]',
    );
    expect(out.errors.kind).to.equal(
      "kind must be one of metric, curve, matrix, embedding, images, alert, step (got 'histogram')",
    );
    expect(out.errors.colour).to.equal(
      "embedding.colourBy['c'] must hold N = 1 values, one per point (got 2)",
    );
    expect(out.errors.field).to.equal('alert: unknown field colour (accepted: level, message)');
    expect(out.refused).to.have.length(1);
    expect(out.refused[0]).to.match(/: 400 \[0\]: unknown field "unit"$/);
    expect(r.stderr).to.match(/^phasewatch: the server refused metric 'bad' at step 300: /m);
    expect(out.disks.warning).to.match(
      /^phase will not be judged: only \d+% of the one-blob images/,
    );
    expect(r.stderr).to.match(/^phasewatch: snapshot at step 600: phase will not be judged: /m);
    expect(out.finish).to.include({ status: 'completed', phase: null });
    const events = readRunEvents(join(runsDir, out.runId));
    expect(events.filter((e) => e.type === 'step').map((e) => e.step)).to.deep.equal(
      Array.from({ length: 600 }, (_, i) => i + 1),
    );
    expect(events.filter((e) => e.type === 'metric' && e.name === 'bad')).to.have.length(0);
    expect(events.find((e) => e.type === 'assessment')).to.have.property('warning');
    const emb = events.filter((e) => e.type === 'embedding');
    expect(emb.map((e) => [e.step, (e as { points: number[] }).points])).to.deep.equal([
      [100, [0, 1, 2, 3, 4, 5]],
    ]);
    expect(events.find((e) => e.type === 'matrix')).to.include({ rows: 2, cols: 2, step: 400 });
    expect(events[events.length - 1]).to.include({ type: 'run-end', status: 'completed' });
  });

  it('a batch over the server’s 8 MiB is answered 413 (not reset) and sent again in halves', async () => {
    // 40 curves of 20,000 points: about 9 MiB of JSON in one flush.
    const script = [
      'import json, sys',
      'from phasewatch_client import Run',
      'run = Run(sys.argv[1], name="big batch", flush_every=3600)',
      'for step in range(1, 41):',
      '    run.event("curve", step, name="c", x=list(range(20000)), y=[0.5] * 20000)',
      'run.flush()',
      'print(json.dumps({"runId": run.run_id, "refused": len(run.refused), "finish": run.finish()}))',
    ].join('\n');
    const r = await python(SYSTEM_PYTHON, ['-c', script, url]);
    expect(r.code, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop() as string) as {
      runId: string;
      refused: number;
      finish: { status: string };
    };
    expect(out.refused).to.equal(0);
    expect(out.finish).to.include({ status: 'completed' });
    const curves = readRunEvents(join(runsDir, out.runId)).filter((e) => e.type === 'curve');
    expect(curves.map((e) => e.step)).to.deep.equal(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it('sends numpy arrays as .npy when numpy is installed', async function () {
    const exe = (await has(SYSTEM_PYTHON, 'numpy'))
      ? SYSTEM_PYTHON
      : (await has('python3', 'numpy'))
        ? 'python3'
        : null;
    if (!exe) {
      console.log('      (skipped: no python3 with numpy here)');
      this.skip();
    }
    checkRun(await smoke(exe as string, ['--numpy']));
  });

  it('trains the seed-004 model in PyTorch and streams it (when torch is installed)', async function () {
    const exe = (await has(SYSTEM_PYTHON, 'torch'))
      ? SYSTEM_PYTHON
      : (await has('python3', 'torch'))
        ? 'python3'
        : null;
    if (!exe) {
      console.log('      (skipped: no python3 with torch here; apt-get install -y python3-torch)');
      this.skip();
    }
    const r = await python(
      exe as string,
      [
        resolve('clients/python/example_torch.py'),
        '--url',
        url,
        '--steps',
        '40',
        '--snapshot-every',
        '20',
        '--samples',
        '24',
        '--embed',
        'pca',
        '--name',
        'torch smoke',
      ],
      170_000,
    );
    expect(r.code, r.stderr).to.equal(0);
    const runId = /run (\S+)/.exec(r.stdout)?.[1] as string;
    const events = readRunEvents(join(runsDir, runId));
    expect(events.filter((e) => e.type === 'step')).to.have.length(40);
    expect(events.filter((e) => e.type === 'assessment').map((e) => e.step)).to.deep.equal([
      20, 40,
    ]);
    expect(events[events.length - 1]).to.include({ type: 'run-end', status: 'completed' });
  });

  it('trains the phase-B reference UNet in PyTorch and streams it (--arch phase-b)', async function () {
    const exe = (await has(SYSTEM_PYTHON, 'torch'))
      ? SYSTEM_PYTHON
      : (await has('python3', 'torch'))
        ? 'python3'
        : null;
    if (!exe) {
      console.log('      (skipped: no python3 with torch here; apt-get install -y python3-torch)');
      this.skip();
    }
    const r = await python(
      exe as string,
      [
        resolve('clients/python/example_torch.py'),
        '--url',
        url,
        '--arch',
        'phase-b',
        '--widths',
        '4,8,8',
        '--steps',
        '40',
        '--snapshot-every',
        '20',
        '--samples',
        '24',
        '--embed',
        'pca',
        '--name',
        'torch phase-b smoke',
      ],
      170_000,
    );
    expect(r.code, r.stderr).to.equal(0);
    const runId = /run (\S+)/.exec(r.stdout)?.[1] as string;
    const events = readRunEvents(join(runsDir, runId));
    expect(events.filter((e) => e.type === 'step')).to.have.length(40);
    expect(events.filter((e) => e.type === 'assessment').map((e) => e.step)).to.deep.equal([
      20, 40,
    ]);
    expect(events[events.length - 1]).to.include({ type: 'run-end', status: 'completed' });
  });

  it('streams representation snapshots of any model: run.snapshot(step, activations=, factors=, samples_ok=)', async () => {
    const r = await python(SYSTEM_PYTHON, [resolve('spec/clients/python-representation.py'), url]);
    expect(r.code, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop() as string) as {
      runId: string;
      snap300: { count: number; size: number; dim: number };
      finish: { phase: string };
      errors: Record<string, string>;
    };
    expect(out.snap300).to.include({ count: 120, size: 0, dim: 16 });
    expect(out.finish).to.include({ status: 'completed', phase: 'C' });
    const events = readRunEvents(join(runsDir, out.runId));
    const assessments = events.filter((e) => e.type === 'assessment');
    expect(assessments.map((a) => [a.step, a.phase, a.rule])).to.deep.equal([
      [100, 'A', 'representation'],
      [200, 'B', 'representation'],
      [300, 'C', 'representation'],
    ]);
    expect(assessments[0].evidence.samplesOk).to.be.closeTo(1 / 3, 1e-9);
    expect(assessments[2].factors?.shape.slice(0, 5)).to.satisfy((v: number[]) =>
      v.every((c) => c >= 0 && c <= 2),
    );
    expect(events.find((e) => e.type === 'images')).to.include({
      step: 300,
      name: 'samples',
      size: 4,
    });
    expect(out.errors.short).to.equal(
      "factors['x'] must hold N = 120 values, one per activation row (got 5 values)",
    );
    expect(out.errors.nan).to.equal('activations[2][3] must be a finite number (got nan)');
    expect(out.errors.levels).to.equal(
      'noise_levels[5] must hold N = 120 rows, one per sample (got 3)',
    );
    const curve = events.find((e) => e.type === 'curve' && e.name === 'noise-probe/shape');
    expect(curve).to.deep.include({ step: 300, x: [0, 90] });
    expect(
      curve && 'y' in curve ? curve.y[0] - curve.y[1] : 0,
      'ordered at t=0, noise at 90',
    ).to.be.greaterThan(0.4);
    expect(out.errors.server).to.match(
      /^POST \/api\/runs\/.*\/snapshots\?step=400: 400 categorical names y, which is not among the factors$/,
    );
  });

  it('trains a diffusion model on two moons and streams representation snapshots (example_moons.py, when torch is installed)', async function () {
    if (!(await has(SYSTEM_PYTHON, 'torch'))) {
      console.log(
        '      (skipped: no /usr/bin/python3 with torch here; apt-get install -y python3-torch)',
      );
      this.skip();
    }
    const r = await python(SYSTEM_PYTHON, [
      resolve('clients/python/example_moons.py'),
      '--url',
      url,
      '--steps',
      '1500',
      '--snapshot-every',
      '250',
      '--embed',
      'pca',
      '--threads',
      '1',
    ]);
    expect(r.code, r.stderr).to.equal(0);
    const runId = /run (\S+)/.exec(r.stdout)?.[1] as string;
    const events = readRunEvents(join(runsDir, runId));
    const assessments = events.filter((e) => e.type === 'assessment');
    expect(assessments.map((a) => a.step)).to.deep.equal([250, 500, 750, 1000, 1250, 1500]);
    expect(assessments.every((a) => a.rule === 'representation' && !a.warning)).to.equal(true);
    expect(
      assessments[0].rawPhase,
      'untrained: samples invalid, neighbourhoods near chance',
    ).to.equal('A');
    expect(assessments[5].rawPhase, 'trained: an ordered manifold').to.equal('C');
    expect(events.filter((e) => e.type === 'embedding')).to.have.length(6);
    const curves = events.filter((e) => e.type === 'curve' && e.name === 'noise-probe/moon');
    expect(curves).to.have.length(6);
    expect(events.filter((e) => e.type === 'step')).to.have.length(1500);
  });
});

describe('clients/python against a server killed and restarted mid-run', function () {
  this.timeout(240_000);
  let runsDir: string;
  const token = 'kill-tok';

  before(function () {
    if (!existsSync(SYSTEM_PYTHON)) this.skip();
    runsDir = mkdtempSync(join(tmpdir(), 'pw-python-kill-'));
  });
  after(() => {
    if (runsDir) rmSync(runsDir, { recursive: true, force: true });
  });

  /** Runs a client script, calling `on(line, child)` for each line it prints. */
  function client(
    args: string[],
    on: (line: string, child: ChildProcess) => void,
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = spawn(SYSTEM_PYTHON, args, {
      env: { ...process.env, PYTHONPATH: CLIENT_DIR, PYTHONDONTWRITEBYTECODE: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let carry = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      carry += chunk.toString();
      const lines = carry.split('\n');
      carry = lines.pop() as string;
      for (const line of lines) on(line, child);
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    return new Promise((done) => child.once('exit', (code) => done({ code, stdout, stderr })));
  }

  it('loses nothing and stores nothing twice when the server is SIGKILLed while the client streams', async () => {
    const port = await freePort();
    let server = await startServe(runsDir, port, token);
    const steps = 600;
    let restarted: Promise<void> | undefined;
    const r = await client(
      [resolve('spec/clients/python-restart.py'), server.url, String(steps), '50'],
      (line) => {
        // Mid-run, between the snapshots of steps 250 and 300: kill, then start it again.
        if (line === 'step 260' && !restarted) {
          restarted = (async () => {
            await server.kill('SIGKILL');
            await new Promise((done) => setTimeout(done, 300));
            server = await startServe(runsDir, port, token);
          })();
        }
      },
    );
    await restarted;
    await server.kill();
    expect(r.code, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop() as string) as {
      runId: string;
      errors: string[];
      finish: { status: string };
    };
    expect(out.errors, 'errors the loop saw').to.deep.equal([]);
    expect(out.finish).to.include({ status: 'completed' });
    const events = readRunEvents(join(runsDir, out.runId));
    const every = Array.from({ length: steps }, (_, i) => i + 1);
    const stepsOf = (pick: (e: RunEvent) => boolean) => events.filter(pick).map((e) => e.step);
    expect(stepsOf((e) => e.type === 'step')).to.deep.equal(every);
    expect(stepsOf((e) => e.type === 'metric' && e.name === 'loss')).to.deep.equal(every);
    expect(stepsOf((e) => e.type === 'metric' && e.name === 'lr')).to.deep.equal(every);
    const snaps = every.filter((s) => s % 50 === 0);
    expect(stepsOf((e) => e.type === 'snapshot')).to.deep.equal(snaps);
    expect(stepsOf((e) => e.type === 'assessment')).to.deep.equal(snaps);
    // The server restarted once: the run went on in the same log, its seq increasing.
    expect(events.filter((e) => e.type === 'run-start')).to.have.length(2);
    const seqs = events.map((e) => e.seq);
    expect(seqs).to.deep.equal([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).to.equal(seqs.length);
    expect(events.filter((e) => e.type === 'run-end')).to.have.length(1);
    expect(events[events.length - 1]).to.include({ type: 'run-end', status: 'completed' });
    const meta = JSON.parse(readFileSync(join(runsDir, out.runId, 'meta.json'), 'utf8'));
    expect(meta.status).to.equal('completed');
  });

  it('waits as a 503 retry-after says (a server at its connection cap), then goes on', async () => {
    const port = await freePort();
    const server = await startServe(runsDir, port, token, {
      PHASEWATCH_MAX_CONNECTIONS_PER_ADDRESS: '2',
    });
    // Two idle connections take the cap; they go 1.5 s after the client's first try.
    const held = await Promise.all(
      [0, 1].map(
        () =>
          new Promise<Socket>((done) => {
            const s = netConnect(port, '127.0.0.1', () => done(s));
            s.on('error', () => undefined);
          }),
      ),
    );
    try {
      const r = await client([resolve('spec/clients/python-busy.py'), server.url], (line) => {
        if (line === 'start') setTimeout(() => held.forEach((s) => s.destroy()), 1500);
      });
      expect(r.code, r.stderr).to.equal(0);
      const out = JSON.parse(r.stdout.trim().split('\n').pop() as string) as {
        waited: number;
        finish: { status: string };
      };
      expect(out.finish).to.include({ status: 'completed' });
      // Refused with 503 until the connections went: it waited (1 s a try, as told).
      expect(out.waited).to.be.at.least(1);
    } finally {
      held.forEach((s) => s.destroy());
      await server.kill();
    }
  });

  it('raises PhasewatchError when the server is gone for good, and the exit handler stays quiet', async () => {
    const port = await freePort();
    const server = await startServe(runsDir, port, token);
    const r = await client(
      [resolve('spec/clients/python-unreachable.py'), server.url],
      (line, child) => {
        if (line === 'created') void server.kill('SIGKILL').then(() => child.stdin?.end('go\n'));
      },
    );
    expect(r.code, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop() as string) as {
      finish: [string, number | null, string];
      pending: number;
    };
    expect(out.finish[0]).to.equal('PhasewatchError');
    expect(out.finish[1]).to.equal(null);
    expect(out.finish[2]).to.match(
      /^POST \/api\/runs\/.*\/events: no answer|^cannot reach phasewatch/,
    );
    expect(out.pending, 'the event is still queued').to.equal(1);
    expect(r.stderr).to.not.match(/could not finish/);
    expect(r.stderr).to.not.match(/Traceback/);
  });
});
