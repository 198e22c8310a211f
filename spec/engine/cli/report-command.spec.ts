import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { from, lastValueFrom, Subject, toArray } from 'rxjs';
import {
  parseReportArgs,
  phaseBands,
  renderFigures,
  reportCommand,
  stepsToPhaseFigure,
  type FigureSpec,
} from '../../../engine/cli/report-command.js';
import { readRunMeta } from '../../../engine/store/run-store.js';
import { readRunEvents } from '../../../streams/replay.js';
import { sweepPlot } from '../../../dashboard/sweep-model.js';
import { record } from '../../../engine/store/record.js';
import { RunStore } from '../../../engine/store/run-store.js';
import type { EventInput, Phase, RunEvent } from '../../../streams/events.js';
import { inkStats, readPng } from './png.js';
import { startServer } from '../../../engine/server/live-server.js';
import { runFigures } from '../../../engine/cli/report-command.js';
import { hasChromium, openBrowser, waitForAttr } from '../../dashboard/support/browser.js';
import { bumpRun, LATE_C } from '../../dashboard/support/bump-run.js';
import { feedRun } from '../../dashboard/support/feed-run.js';

/** A stored run with six assessed snapshots (A, A, B, B, C, C unless told), metrics and a curve. */
async function syntheticRun(
  runsDir: string,
  runId: string,
  dx: number,
  phases: Phase[] = ['A', 'A', 'B', 'B', 'C', 'C'],
): Promise<string> {
  const store = RunStore.create({
    runsDir,
    runId,
    backend: 'cpu',
    config: { dx, seed: 1, size: 8 },
  });
  const events: EventInput[] = [];
  phases.forEach((phase, k) => {
    const step = 100 * (k + 1);
    const n = 30;
    const labels = Array.from({ length: 2 * n }, (_, i) => (i * 7) % 8);
    const embedding = Array.from({ length: 3 * n }, (_, i) => Math.sin(i * 0.7 + k) * (k + 1));
    const samples = Array.from({ length: 4 }, (_, s) => ({
      label: [s + 2, 3] as [number, number],
      located: { x: s + 2, y: 3, count: 1 },
      pixels: Array.from({ length: 64 }, (_, p) => (p === 3 * 8 + s + 2 ? 255 : 20)),
    }));
    const acc = k / 5;
    events.push(
      {
        type: 'assessment',
        step,
        accuracy: acc,
        bumps: { none: 1 - acc, one: acc, many: 0 },
        r2: { x: 0.5 + k / 20, y: 0.4 + k / 15, mean: 0.5 },
        phase,
        rawPhase: phase,
        evidence: {},
        embedding,
        labels,
        size: 8,
        samples,
      },
      { type: 'metric', name: 'phase/accuracy', value: acc, step },
      { type: 'metric', name: 'phase/r2x', value: 0.5 + k / 20, step },
      { type: 'metric', name: 'phase/r2', value: 0.5, step },
    );
    if (k === 0 || phases[k - 1] !== phase) {
      events.push({ type: 'phase', step, from: k ? phases[k - 1] : null, to: phase, evidence: {} });
    }
  });
  events.push({ type: 'curve', name: 'demo/curve@a', x: [1, 2, 3], y: [3, 1, 2], step: 600 });
  await lastValueFrom(from(events).pipe(record(store), toArray()));
  return join(runsDir, runId);
}

describe('phasewatch report', function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pw-report-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('renders a run and a sweep to PNGs of the requested size that are not blank', async () => {
    const a = await syntheticRun(dir, 'run-a', 0.5);
    const b = await syntheticRun(dir, 'run-b', 2);
    const out = join(dir, 'report');
    const code = await reportCommand([a, b, '--out', out, '--width', '640', '--height', '360']);
    expect(code).to.equal(0);
    const files = [
      'run-a/metrics.png',
      'run-a/r2x-r2y.png',
      'run-a/embeddings.png',
      'run-a/samples.png',
      'run-a/curve-demo_curve.png',
      'run-b/metrics.png',
      'sweep/steps-to-C.png',
      'sweep/accuracy.png',
    ];
    for (const f of files) {
      const file = join(out, f);
      expect(existsSync(file), f).to.equal(true);
      const png = readPng(file);
      expect([png.width, png.height], f).to.deep.equal([640, 360]);
      const { colours, ink } = inkStats(png);
      expect(colours, `${f} colours`).to.be.greaterThan(10);
      expect(ink, `${f} ink`).to.be.greaterThan(0.01);
    }
  });

  it('draws steps to C against the swept parameter as the dashboard sweep view computes it', async () => {
    const dirs = [
      await syntheticRun(dir, 'run-a', 0.5),
      await syntheticRun(dir, 'run-b', 2, ['A', 'A', 'B', 'B', 'B', 'B']),
      await syntheticRun(dir, 'run-c', 2, ['A', 'A', 'A', 'C', 'C', 'C']),
      await syntheticRun(dir, 'run-d', 8),
    ];
    const runs = dirs.map((d) => ({ meta: readRunMeta(d), events: readRunEvents(d) }));
    const fig = stepsToPhaseFigure(runs, 'C');
    expect(fig?.file).to.equal('sweep/steps-to-C.png');
    const spec = fig?.spec as Extract<FigureSpec, { kind: 'sweep-view' }>;
    // The dashboard's sweep view draws it: y steps to C, x the key the runs differ in.
    expect([spec.kind, spec.x, spec.y]).to.deep.equal(['sweep-view', 'dx', 'phase:C']);
    expect(spec.runs.map((r) => [r.meta.runId, r.lastStep, r.ended])).to.deep.equal([
      ['run-a', 600, true],
      ['run-b', 600, true],
      ['run-c', 600, true],
      ['run-d', 600, true],
    ]);
    expect(spec.runs[2].phases).to.deep.equal([
      { to: 'A', step: 100 },
      { to: 'C', step: 400 },
    ]);
    // What the view computes from it, in the page as in the dashboard.
    const series = spec.runs.map((r) => ({
      meta: r.meta,
      series: {
        runId: r.meta.runId,
        lastStep: r.lastStep,
        phases: r.phases,
        metrics: new Map(Object.entries(r.metrics)),
        end: r.ended ? {} : undefined,
      },
    }));
    const plot = sweepPlot(series, spec.x, { kind: 'phase', phase: 'C' });
    expect(plot.points.map((p) => [p.runId, p.x, p.y, p.status])).to.deep.equal([
      ['run-a', 0.5, 500, 'reached'],
      ['run-b', 2, 600, 'ended'],
      ['run-c', 2, 400, 'reached'],
      ['run-d', 8, 500, 'reached'],
    ]);
    expect(spec.runs[0].metrics['phase/accuracy'].values).to.have.length(6);
    // Runs that do not differ in any config key: no such figure.
    expect(stepsToPhaseFigure(runs.slice(1, 3))).to.equal(undefined);
  });

  it('draws the phase band from the assessments, each phase from the step that entered it', () => {
    const ev = (step: number, phase: Phase): RunEvent =>
      ({ type: 'assessment', step, phase, evidence: {} }) as unknown as RunEvent;
    // C entered at the last step: a band from 300, not from the assessment before
    expect(phaseBands([ev(100, 'A'), ev(200, 'A'), ev(300, 'C')])).to.deep.equal([
      { from: 100, to: 300, phase: 'A' },
      { from: 300, to: 300, phase: 'C' },
    ]);
    const end = { type: 'step', step: 400 } as unknown as RunEvent;
    expect(phaseBands([ev(100, 'A'), ev(300, 'C'), end])).to.deep.equal([
      { from: 100, to: 300, phase: 'A' },
      { from: 300, to: 400, phase: 'C' },
    ]);
  });

  it('rejects bad arguments in one line, exit code 2', async () => {
    expect(() => parseReportArgs([])).to.throw(/^report needs at least one runDir$/);
    expect(() => parseReportArgs([dir])).to.throw(/is not a phasewatch run \(no meta\.json\)$/);
    const a = await syntheticRun(dir, 'run-a', 1);
    expect(() => parseReportArgs([a])).to.throw(/^report needs --out DIR/);
    expect(() => parseReportArgs([a, '--out', 'x', '--width', '10'])).to.throw(
      /^--width must be an integer from 200 to 4000 pixels \(got 10\)$/,
    );
    expect(() => parseReportArgs([a, '--out', 'x', '--dpi', '2'])).to.throw(
      /^unknown option --dpi/,
    );
    const err = process.stderr.write;
    process.stderr.write = () => true;
    try {
      expect(await reportCommand([a])).to.equal(2);
    } finally {
      process.stderr.write = err;
    }
  });

  it("shades the same phase bands, in the same colours, as the dashboard's timeline on a stored run", async function () {
    if (!hasChromium) this.skip();
    const hub = new Subject<RunEvent>();
    // A → C at the last step, 800: the report once shaded C from 600, the assessment before.
    await feedRun(from(bumpRun('late-c', 800, LATE_C)), { runsDir: dir, hub, runId: 'late-c' })
      .done;
    const runDir = join(dir, 'late-c');
    const figures = runFigures({ meta: readRunMeta(runDir), events: readRunEvents(runDir) });
    const lines = (file: string) =>
      figures.find((f) => f.file === `late-c/${file}`)?.spec as Extract<
        FigureSpec,
        { kind: 'lines' }
      >;
    const reportBands = lines('metrics.png')
      .bands?.map((b) => `${b.phase}:${b.from}-${b.to}`)
      .join(' ');
    const server = await startServer({ runsDir: dir, live$: hub, port: 0 });
    const browser = await openBrowser();
    try {
      await browser.page.goto(server.url);
      const dashboardBands = await waitForAttr(
        browser.page,
        'phase-timeline',
        'data-bands',
        (v) => !!v,
      );
      expect(reportBands).to.equal(dashboardBands);
      expect(reportBands).to.equal('A:200-800 C:800-800');
      const fill = (phase: Phase) =>
        browser.page.locator(`phase-timeline rect.seg[data-phase=${phase}]`).getAttribute('fill');
      const scatter = lines('r2x-r2y.png').series;
      for (const phase of ['A', 'C'] as const) {
        expect(scatter.find((s) => s.label === `phase ${phase}`)?.colour).to.equal(
          await fill(phase),
        );
      }
    } finally {
      await browser.close();
      await server.close();
    }
    // The report's timeline.png is the dashboard's own timeline, mounted from its bundle.
    const out = join(dir, 'report');
    const drawn = new Map<string, string>();
    await renderFigures(figures, { out, width: 800, height: 400, drawn });
    expect(drawn.get('late-c/timeline.png')).to.equal('A:200-800 C:800-800');
    expect(inkStats(readPng(join(out, 'late-c/timeline.png'))).colours).to.be.greaterThan(3);
    expect(await reportCommand([runDir, '--out', join(dir, 'cli')])).to.equal(0);
    for (const f of ['timeline.png', 'metrics.png'])
      expect(existsSync(join(dir, 'cli', 'late-c', f)), f).to.equal(true);
  });
});
