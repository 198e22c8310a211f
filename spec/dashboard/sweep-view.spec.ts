import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  concat,
  from,
  ignoreElements,
  lastValueFrom,
  Subject,
  toArray,
  type OperatorFunction,
} from 'rxjs';
import type { Page } from 'playwright-core';
import { bumpJob } from '../../engine/experiment/sweep/bump-job.js';
import { startServer, type LiveServer } from '../../engine/server/live-server.js';
import {
  EVENTS_VERSION,
  type EventInput,
  type Phase,
  type Snapshot,
  type RunEvent,
  type UnsequencedEvent,
} from '../../streams/events.js';
import { gridPoints, sweep } from '../../streams/sweep.js';
import {
  canvasStats,
  hasChromium,
  newPage,
  openBrowser,
  waitForAttr,
  type Browser,
} from './support/browser.js';
import { feedRun } from './support/feed-run.js';

/** A run of a sweep whose events the test hands over one by one, as training would. */
function sweepRun(
  runsDir: string,
  hub: Subject<RunEvent>,
  sweepId: string,
  runId: string,
  point: Record<string, number>,
) {
  const events = new Subject<UnsequencedEvent>();
  const name = Object.entries(point)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const config = { ...point, steps: 100, size: 8 };
  const feed = feedRun(events, {
    runsDir,
    hub,
    runId,
    name,
    tags: ['sweep', `sweep:${sweepId}`],
    config,
  });
  const t = Date.now;
  let step = 0;
  let phase: Phase | null = null;
  events.next({
    type: 'run-start',
    runId,
    step: 0,
    time: t(),
    meta: {
      runId,
      eventsVersion: EVENTS_VERSION,
      createdAt: new Date().toISOString(),
      backend: 'synthetic',
      config,
      status: 'running',
    },
  });
  return {
    done: feed.done,
    /** Steps up to `to`, with an accuracy point every 10 steps. */
    stepTo(to: number) {
      while (step < to) {
        step++;
        events.next({ type: 'step', runId, step, time: t(), loss: 1 / step, examplesPerSec: 1 });
        if (step % 10 === 0) {
          events.next({
            type: 'metric',
            runId,
            step,
            time: t(),
            name: 'phase/accuracy',
            value: step / 100 + point.dx / 10,
          });
        }
      }
    },
    confirm(to: Phase) {
      events.next({ type: 'phase', runId, step, time: t(), from: phase, to, evidence: {} });
      phase = to;
    },
    end() {
      events.complete();
    },
  };
}

/**
 * A stored run of the bump kind, as a user makes them by hand (`phasewatch run --dx 2 …`):
 * config as the default experiment stores it, a phase, an embedding coloured by the labels.
 */
function plainRun(
  runsDir: string,
  hub: Subject<RunEvent>,
  runId: string,
  config: Record<string, number>,
  labelX: number[],
  tags: string[] = [],
) {
  const t = Date.now;
  const events: UnsequencedEvent[] = [
    {
      type: 'run-start',
      runId,
      step: 0,
      time: t(),
      meta: {
        runId,
        eventsVersion: EVENTS_VERSION,
        createdAt: new Date().toISOString(),
        backend: 'synthetic',
        config,
        status: 'running',
      },
    },
    { type: 'step', runId, step: 50, time: t(), loss: 0.1, examplesPerSec: 1 },
    { type: 'phase', runId, step: 50, time: t(), from: null, to: 'A', evidence: {} },
    {
      type: 'embedding',
      runId,
      step: 50,
      time: t(),
      name: 'probe/labels',
      points: labelX.flatMap((x, i) => [x, i % 3, 0]),
      colourBy: { x: labelX },
    },
  ];
  return feedRun(from(events), { runsDir, hub, runId, config, tags }).done;
}

describe('dashboard sweep view', function () {
  let runsDir: string;
  let hub: Subject<RunEvent>;
  let server: LiveServer | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let errors: string[];

  before(async function () {
    this.timeout(120_000); // a chromium launch on a busy machine
    if (!hasChromium) {
      console.log('    (skipped: /usr/bin/chromium is missing; apt-get install chromium)');
      this.skip();
    }
    browser = await openBrowser();
  });
  after(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    runsDir = mkdtempSync(join(tmpdir(), 'pw-sweep-view-'));
    hub = new Subject<RunEvent>();
    ({ page, errors } = await newPage(browser!));
  });
  afterEach(async () => {
    await page?.close();
    await server?.close();
    server = undefined;
    rmSync(runsDir, { recursive: true, force: true });
  });

  const attr = (name: string) => page.locator('sweep-view').getAttribute(name);

  it('compares a sweep live: the swept parameters, one point per run at its step, runs not there yet marked, updates on a phase event, one curve per run', async () => {
    server = await startServer({ runsDir, live$: hub, port: 0 });
    const run = (id: string, dx: number, seed: number) =>
      sweepRun(runsDir, hub, 'grid', id, { dx, seed });
    // Two finished runs at dx 0.5 (C at 40 and 30); two at dx 2 still going, one in B.
    const s1 = run('grid-s1', 0.5, 1);
    s1.stepTo(10);
    s1.confirm('A');
    s1.stepTo(40);
    s1.confirm('C');
    s1.stepTo(50);
    s1.end();
    const s2 = run('grid-s2', 0.5, 2);
    s2.stepTo(10);
    s2.confirm('A');
    s2.stepTo(30);
    s2.confirm('C');
    s2.stepTo(50);
    s2.end();
    await Promise.all([s1.done, s2.done]);
    const s3 = run('grid-s3', 2, 1);
    s3.stepTo(10);
    s3.confirm('A');
    s3.stepTo(30);
    s3.confirm('B');
    s3.stepTo(60);
    const s4 = run('grid-s4', 2, 2);
    s4.stepTo(10);
    s4.confirm('A');
    s4.stepTo(20);

    // The page opens on the sweep its newest running run belongs to, all of it.
    await page.goto(server.url);
    await waitForAttr(page, 'phasewatch-app', 'data-connection', (v) => v === 'open');
    await waitForAttr(page, 'sweep-view', 'data-keys', (v) => v === 'dx,seed');
    expect(await attr('data-x')).to.equal('dx');
    expect(await attr('data-y')).to.equal('phase:C');
    await waitForAttr(
      page,
      'sweep-view',
      'data-points',
      (v) =>
        v ===
        'grid-s1=0.5:40:reached;grid-s2=0.5:30:reached;grid-s3=2:60:pending;grid-s4=2:20:pending',
    );
    expect(await attr('data-groups')).to.equal('0.5:35:2/2;2:-:0/2');
    expect(await attr('data-pending')).to.equal('2');
    expect(await page.locator('sweep-view [data-mark=pending]').textContent()).to.contain(
      'not yet',
    );
    expect((await canvasStats(page, 'sweep-view .box canvas')).inked).to.be.above(0);

    // Over the live socket: s3 confirms C at 70, s4 moves on without it.
    s3.stepTo(70);
    s3.confirm('C');
    s4.stepTo(45);
    await waitForAttr(
      page,
      'sweep-view',
      'data-points',
      (v) =>
        v ===
        'grid-s1=0.5:40:reached;grid-s2=0.5:30:reached;grid-s3=2:70:reached;grid-s4=2:45:pending',
    );
    expect(await attr('data-groups')).to.equal('0.5:35:2/2;2:70:1/2');
    // Steps to B: s1 and s2 went from A straight to C (skipped), s3 was in B at 30.
    await page.locator('sweep-view select[aria-label="y value"]').selectOption('phase:B');
    await waitForAttr(
      page,
      'sweep-view',
      'data-points',
      (v) =>
        v ===
        'grid-s1=0.5:40:skipped;grid-s2=0.5:30:skipped;grid-s3=2:30:reached;grid-s4=2:45:pending',
    );

    // The curves below: one per run, coloured by dx (the runs at one dx share a colour).
    await page.locator('sweep-view metric-plot').scrollIntoViewIfNeeded();
    await waitForAttr(page, 'sweep-view metric-plot', 'data-runs', (v) => v === '4');
    expect(await attr('data-curve-metric')).to.equal('phase/accuracy');
    // Each curve marks where its run confirmed the phase plotted: only s3 was ever in B.
    await waitForAttr(page, 'sweep-view metric-plot', 'data-marks', (v) => v === '1');
    const colours = Object.fromEntries(
      (await attr('data-curve-colours'))!.split(';').map((kv) => kv.split('=')),
    );
    expect(colours['grid-s1']).to.equal(colours['grid-s2']);
    expect(colours['grid-s3']).to.equal(colours['grid-s4']);
    expect(colours['grid-s1']).to.not.equal(colours['grid-s3']);
    expect(await page.locator('sweep-view metric-plot').getAttribute('data-points')).to.equal(
      String(5 + 5 + 7 + 4),
    );

    // A metric's highest value against seed instead.
    await page
      .locator('sweep-view select[aria-label="y value"]')
      .selectOption('metric:phase/accuracy');
    await page.locator('sweep-view select[aria-label="statistic"]').selectOption('max');
    await page.locator('sweep-view select[aria-label="swept parameter"]').selectOption('seed');
    await waitForAttr(page, 'sweep-view', 'data-y', (v) => v === 'metric:phase/accuracy:max');
    await waitForAttr(
      page,
      'sweep-view',
      'data-points',
      (v) =>
        v ===
        'grid-s1=1:0.55:reached;grid-s2=2:0.55:reached;grid-s3=1:0.9:reached;grid-s4=2:0.6:reached',
    );

    // A new run of the sweep joins the view by itself; a run picked by hand replaces it, and
    // the sweep can be picked back from the view.
    const s5 = run('grid-s5', 1, 1);
    s5.stepTo(10);
    await waitForAttr(page, 'sweep-view', 'data-points', (v) => v?.includes('grid-s5=1:') ?? false);
    await page.locator('runs-table tr[data-run=grid-s1]').click();
    await waitForAttr(page, 'sweep-view', 'data-keys', (v) => v === '');
    expect(await page.locator('sweep-view .empty').textContent()).to.contain('Pick a sweep');
    await page.locator('sweep-view select[aria-label=sweep]').selectOption('grid');
    await waitForAttr(page, 'sweep-view', 'data-sweep', (v) => v === 'grid');
    await waitForAttr(page, 'sweep-view', 'data-points', (v) => v?.split(';').length === 5);
    expect(await page.locator('sweep-view select[aria-label=sweep]').inputValue()).to.equal('grid');
    // Picking runs by hand leaves the sweep, and the selector says so.
    await page.locator('runs-table tr[data-run=grid-s2]').click();
    await waitForAttr(page, 'sweep-view', 'data-sweep', (v) => v === '');
    expect(await page.locator('sweep-view select[aria-label=sweep]').inputValue()).to.equal('');
    for (const r of [s3, s4, s5]) r.end();
    expect(await page.locator('phasewatch-app').getAttribute('data-duplicates')).to.equal('0');
    expect(errors).to.deep.equal([]);
  });

  it('shows a real sweep live, served by the live server while its runs train', async function () {
    this.timeout(120_000);
    server = await startServer({ runsDir, live$: hub, port: 0 });
    await page.goto(server.url);
    await waitForAttr(page, 'phasewatch-app', 'data-connection', (v) => v === 'open');
    const context = {
      backend: 'cpu',
      size: 8,
      widths: [4, 8, 8],
      steps: 20,
      snapshotEvery: 10,
      samples: 16,
      embed: 'pca',
      batchSize: 8,
      ddimSteps: 2,
      timesteps: 10,
      confirm: 1,
    };
    // Each run stays open (no run-end) after its last step until the test lets it end, so
    // the page is sure to see the sweep while it is running.
    let release = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    const holdOpen: OperatorFunction<Snapshot, EventInput> = (snapshots) =>
      concat(snapshots.pipe(ignoreElements()), from(released).pipe(ignoreElements()));
    const events = lastValueFrom(
      sweep(
        gridPoints({ dx: [1, 2], seed: [1, 2] }),
        (point, job) => bumpJob(point, job, { operators: [holdOpen] }),
        { name: 'tiny', runsDir, hub, concurrency: 4, context },
      ).pipe(toArray()),
    );
    // While the runs are going, the page follows the sweep: every run shows, at the step it
    // is at, not in C yet (or, rarely for so short a run, in C already).
    try {
      await waitForAttr(
        page,
        'sweep-view',
        'data-points',
        (v) => {
          const points = v?.split(';') ?? [];
          return (
            points.length === 4 &&
            points.every((p) => /:20:pending$|:reached$/.test(p)) &&
            points.some((p) => p.endsWith(':pending'))
          );
        },
        60_000,
      );
    } finally {
      release();
    }
    const all = await events;
    const phases = all.filter((e) => e.type === 'phase');
    const firstAt = (runId: string, p: Phase) =>
      phases.find((e) => e.runId === runId && e.to === p)?.step;
    const ids = [...new Set(all.map((e) => e.runId))].sort();
    expect(ids).to.have.length(4);
    // Each run records the sweep it belongs to, which is how the dashboard groups them.
    for (const e of all) if (e.type === 'run-start') expect(e.meta.tags).to.include('sweep:tiny');
    // Once they ended, over the socket: every run at its dx, C confirmed or ended without it.
    const expected = ids
      .map((id) => {
        const dx = id.includes('dx1') ? 1 : 2;
        const c = firstAt(id, 'C');
        return `${id}=${dx}:${c ?? 20}:${c === undefined ? 'ended' : 'reached'}`;
      })
      .join(';');
    await waitForAttr(page, 'sweep-view', 'data-points', (v) => v === expected, 20_000);
    // dx first (a point key), then the other setting (dy = dx), then what follows from them
    // (the dataset's size), seed last.
    expect(await attr('data-keys')).to.equal('dx,dy,datasetSize,seed');
    // Steps to A: each run at the step its first assessment confirmed A.
    await page.locator('sweep-view select[aria-label="y value"]').selectOption('phase:A');
    const toA = ids
      .map((id) => {
        const a = firstAt(id, 'A');
        return a === undefined ? null : `${id}=${id.includes('dx1') ? 1 : 2}:${a}:reached`;
      })
      .filter((s) => s !== null);
    expect(toA.length).to.be.above(0);
    await waitForAttr(page, 'sweep-view', 'data-points', (v) =>
      toA.every((p) => v?.split(';').includes(p) ?? false),
    );
    // One accuracy curve per run, every assessed point of every run.
    const accuracy = all.filter((e) => e.type === 'metric' && e.name === 'phase/accuracy');
    await page.locator('sweep-view metric-plot').scrollIntoViewIfNeeded();
    await waitForAttr(page, 'sweep-view metric-plot', 'data-runs', (v) => v === '4');
    await waitForAttr(
      page,
      'sweep-view metric-plot',
      'data-points',
      (v) => v === String(accuracy.length),
    );
    expect(errors).to.deep.equal([]);
  });

  it('opens a tagged sweep at its swept key, asks for runs picked by hand, one colour scale across embeddings', async () => {
    server = await startServer({ runsDir, live$: hub, port: 0 });
    const hand = { steps: 100, size: 8, dx: 1 };
    await plainRun(runsDir, hub, 'hand-1', { ...hand, snapshotEvery: 20 }, [1, 2, 3]);
    await plainRun(runsDir, hub, 'hand-2', { ...hand, snapshotEvery: 40 }, [1, 2, 3]);
    // Two runs at dx 0.5 and 2 tagged as one sweep, named by nothing: 'datasetSize' sorts
    // before 'dx', but it only follows from dx.
    const pair = (dx: number, datasetSize: number, xs: number[]) =>
      plainRun(
        runsDir,
        hub,
        `pair-dx${dx}`,
        { ...hand, snapshotEvery: 50, dx, dy: dx, datasetSize },
        xs,
        ['sweep:pair'],
      );
    await pair(0.5, 256, [0.5, 1, 1.5, 2.5, 3.5, 4, 5.5, 6, 6.5, 7, 1.5, 3]);
    await pair(2, 16, [2, 4, 6, 2, 4, 6]);
    await page.goto(server.url);
    // The newest run is in a sweep: the page follows the sweep, x on the swept key.
    await waitForAttr(page, 'sweep-view', 'data-x', (v) => v === 'dx');
    expect(await attr('data-keys')).to.equal('dx,dy,datasetSize');
    // Its embeddings side by side share one scale per field: x continuous in both, over both.
    const scale = (run: string) =>
      waitForAttr(page, `embedding-view[data-run="${run}"]`, 'data-scale', (v) => !!v);
    expect(await scale('pair-dx0.5')).to.equal('continuous:0.5-7');
    expect(await scale('pair-dx2')).to.equal('continuous:0.5-7');
    // Runs picked by hand are not a sweep: the view asks what to plot them against.
    await page.locator('runs-table tr[data-run=hand-1] .name').click();
    await page.locator('runs-table tr[data-run=hand-2] input[type=checkbox]').click();
    await waitForAttr(page, 'sweep-view', 'data-keys', (v) => v === 'snapshotEvery');
    expect(await attr('data-x')).to.equal('');
    expect(await page.locator('sweep-view .ask').textContent()).to.contain('not one sweep');
    await page
      .locator('sweep-view select[aria-label="swept parameter"]')
      .selectOption('snapshotEvery');
    await waitForAttr(page, 'sweep-view', 'data-x', (v) => v === 'snapshotEvery');
    expect(await page.locator('sweep-view .ask').count()).to.equal(0);
    expect(errors).to.deep.equal([]);
  });
});
