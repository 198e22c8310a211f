import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { concat, lastValueFrom, Subject, throwError, toArray } from 'rxjs';
import type { Page } from 'playwright-core';
import { runExperiment } from '../../engine/experiment/run-experiment.js';
import { startServer, type LiveServer } from '../../engine/server/live-server.js';
import { syntheticRun$ } from '../../engine/server/synthetic-run.js';
import { from } from 'rxjs';
import type { RunEvent } from '../../streams/events.js';
import {
  canvasStats,
  hasChromium,
  newPage,
  openBrowser,
  waitForAttr,
  type Browser,
} from './support/browser.js';
import { feedRun } from './support/feed-run.js';
import { genericRun, type GenericRunOptions } from './support/generic-run.js';

// One chromium for the whole file (launches are slow on a small machine); a page per test.
describe('dashboard in a browser', function () {
  let runsDir: string;
  let hub: Subject<RunEvent>;
  let server: LiveServer | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let errors: string[];

  before(async function () {
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
    runsDir = mkdtempSync(join(tmpdir(), 'pw-browser-'));
    hub = new Subject<RunEvent>();
    ({ page, errors } = await newPage(browser!));
  });
  afterEach(async () => {
    await page?.close();
    await server?.close();
    server = undefined;
    rmSync(runsDir, { recursive: true, force: true });
  });

  const feedGeneric = (
    opts: GenericRunOptions,
    meta: { name?: string; tags?: string[]; notes?: string; config?: Record<string, unknown> } = {},
  ) => feedRun(from(genericRun(opts)), { runsDir, hub, runId: opts.runId, ...meta });

  it('shows a live run, survives a dropped socket without duplicates, and keeps UI state', async () => {
    server = await startServer({ runsDir, live$: hub, port: 0 });
    // A finished run on disk, to replay and compare with.
    await feedRun(syntheticRun$({ runId: 'baseline', steps: 600, snapshotEvery: 50, seed: 7 }), {
      runsDir,
      hub,
      runId: 'baseline',
    }).done;
    const steps = 400;
    const live = feedRun(
      syntheticRun$({ runId: 'live', steps, snapshotEvery: 40, intervalMs: 6, seed: 3 }),
      { runsDir, hub, runId: 'live' },
    );
    try {
      await page.goto(server.url);
      await waitForAttr(page, 'phasewatch-app', 'data-connection', (v) => v === 'open');
      // Loss points arrive while the run is going.
      await waitForAttr(page, 'loss-chart', 'data-points', (v) => Number(v) >= 120);
      server.disconnectAll();
      await waitForAttr(page, 'phasewatch-app', 'data-reconnects', (v) => Number(v) >= 1);
      await waitForAttr(page, 'phasewatch-app', 'data-connection', (v) => v === 'open');
      await live.done;
    } finally {
      live.stop();
    }
    // Every step exactly once, the whole phase sequence, the newest snapshot.
    await waitForAttr(page, 'loss-chart', 'data-points', (v) => v === String(steps));
    await waitForAttr(page, 'phase-timeline', 'data-phases', (v) => v === 'ABC');
    expect(await page.locator('phase-timeline').getAttribute('data-markers')).to.equal('3');
    await waitForAttr(page, 'embedding-view', 'data-step', (v) => v === String(steps));
    await waitForAttr(page, 'sample-grid', 'data-step', (v) => v === String(steps));
    expect(await page.locator('phasewatch-app').getAttribute('data-duplicates')).to.equal('0');
    // The assessment's figures are charted as phase/* metrics, one point per assessment.
    // Charts out of view skip their redraws: look at it, as a user would.
    await page.locator('metric-plot[data-name="phase/accuracy"]').scrollIntoViewIfNeeded();
    await waitForAttr(
      page,
      'metric-plot[data-name="phase/accuracy"]',
      'data-points',
      (v) => v === '10',
    );

    // Scrub back to the 5th snapshot and drop the socket: the view stays where it was put.
    await page.locator('embedding-view input[type=range]').fill('4');
    await waitForAttr(page, 'embedding-view', 'data-step', (v) => v === '200');
    await waitForAttr(page, 'sample-grid', 'data-step', (v) => v === '200');
    server.disconnectAll();
    await waitForAttr(page, 'phasewatch-app', 'data-reconnects', (v) => Number(v) >= 2);
    await waitForAttr(page, 'phasewatch-app', 'data-connection', (v) => v === 'open');
    expect(await page.locator('embedding-view').getAttribute('data-step')).to.equal('200');
    expect(await page.locator('loss-chart').getAttribute('data-points')).to.equal(String(steps));

    // Compare with the stored run: its events are replayed from disk, and its embedding and
    // samples stand beside the live run's, at the same step.
    await page.locator('runs-table tr[data-run=baseline] input[type=checkbox]').click();
    await waitForAttr(page, 'loss-chart', 'data-points', (v) => v === String(steps + 600));
    await waitForAttr(page, 'phase-timeline', 'data-phases', (v) => v === 'ABC,ABC');
    await waitForAttr(page, 'embedding-view[data-run=baseline]', 'data-step', (v) => v === '200');
    await waitForAttr(page, 'sample-grid[data-run=baseline]', 'data-step', (v) => v === '200');
    expect(await page.locator('embedding-view[data-run=live]').getAttribute('data-step')).to.equal(
      '200',
    );
    expect(await page.locator('phasewatch-app').getAttribute('data-duplicates')).to.equal('0');
    expect(errors).to.deep.equal([]);
  });

  it('draws whatever a run records: a custom metric, a curve, a matrix, an embedding, images, an alert', async () => {
    server = await startServer({ runsDir, live$: hub, port: 0 });
    await page.goto(server.url);
    await waitForAttr(page, 'phasewatch-app', 'data-connection', (v) => v === 'open');
    const steps = 60;
    await feedGeneric(
      {
        runId: 'custom',
        steps,
        every: 20,
        alerts: [{ step: 33, level: 'warning', message: 'border fraction rose twice in a row' }],
      },
      { name: 'my probe run', tags: ['probe'] },
    ).done;

    // The custom metric has a chart of its own, in its prefix's panel, with every point.
    // Charts out of view skip their redraws: look at it, as a user would.
    await page.locator('metric-plot[data-name="custom/border-fraction"]').scrollIntoViewIfNeeded();
    await waitForAttr(
      page,
      'metric-plot[data-name="custom/border-fraction"]',
      'data-points',
      (v) => v === String(steps),
    );
    const groups = await page.locator('metric-panels').getAttribute('data-groups');
    expect(groups?.split(',')).to.include.members(['custom', 'probe', 'train']);
    expect(
      (await canvasStats(page, 'metric-plot[data-name="custom/border-fraction"] canvas')).inked,
    ).to.be.above(0);

    // The curve of the newest step, then scrubbed back to the first.
    await waitForAttr(
      page,
      'curve-view[data-name="probe/acc-vs-t"]',
      'data-step',
      (v) => v === '60',
    );
    expect(await page.locator('curve-view').getAttribute('data-points')).to.equal('6');
    await page.locator('curve-view input[type=range]').fill('0');
    await waitForAttr(page, 'curve-view', 'data-step', (v) => v === '20');

    // The matrix as a heatmap: 6×6 cells, many colours on its canvas.
    await waitForAttr(page, 'matrix-view[data-name="probe/mi"]', 'data-cells', (v) => v === '36');
    const heat = await canvasStats(page, 'matrix-view canvas');
    expect(heat.colours).to.be.above(10);

    // The embedding, coloured by one field and then by another.
    await waitForAttr(page, 'embedding-view', 'data-points', (v) => v === '120');
    expect(await page.locator('embedding-view').getAttribute('data-colour-by')).to.equal('class');
    const before = await canvasStats(page, 'embedding-view canvas');
    await page.locator('embedding-view select[aria-label="colour by"]').selectOption('radius');
    await waitForAttr(page, 'embedding-view', 'data-colour-by', (v) => v === 'radius');
    const after = await canvasStats(page, 'embedding-view canvas');
    expect(after.hash).to.not.equal(before.hash);
    expect(after.inked).to.be.above(0);

    // The image grid with its captions.
    await waitForAttr(page, 'sample-grid', 'data-thumbs', (v) => v === '4');
    expect(await page.locator('sample-grid figcaption').first().textContent()).to.contain(
      'sample 0',
    );
    expect((await canvasStats(page, 'sample-grid canvas')).colours).to.be.above(2);

    // The alert: a banner, and a marker on the phase timeline.
    await waitForAttr(page, 'alert-banner', 'data-count', (v) => v === '1');
    expect(await page.locator('alert-banner [role=alert]').textContent()).to.contain(
      'border fraction rose twice in a row',
    );
    expect(await page.locator('alert-banner [role=alert]').isVisible()).to.equal(true);
    expect(await page.locator('phase-timeline').getAttribute('data-alerts')).to.equal('1');
    await page.locator('alert-banner button[aria-label=dismiss]').click();
    await waitForAttr(page, 'alert-banner', 'data-count', (v) => v === '0');

    // The search keeps only the charts whose names match.
    await page.locator('metric-panels input[type=search]').fill('border');
    await waitForAttr(page, 'metric-panels', 'data-names', (v) => v === 'custom/border-fraction');
    expect(await page.locator('curve-view').count()).to.equal(0);
    await page.locator('metric-panels input[type=search]').fill('probe -mi');
    await waitForAttr(page, 'metric-panels', 'data-names', (v) => v === 'probe/acc-vs-t');
    await page.locator('metric-panels input[type=search]').fill('');

    // Smoothing draws the smoothed line over the raw one, on the metrics and the loss.
    await page.locator('metric-panels input[aria-label=smoothing]').fill('0.9');
    // Charts out of view skip their redraws: look at it, as a user would.
    await page.locator('metric-plot[data-name="custom/border-fraction"]').scrollIntoViewIfNeeded();
    await waitForAttr(
      page,
      'metric-plot[data-name="custom/border-fraction"]',
      'data-smoothed',
      (v) => v === 'true',
    );
    await waitForAttr(page, 'loss-chart', 'data-smoothed', (v) => v === 'true');
    expect(errors).to.deep.equal([]);
  });

  it('finds and compares runs: failed runs with their error, table search and sort, config diff, overlaid metrics, side-by-side embeddings', async () => {
    server = await startServer({ runsDir, live$: hub, port: 0 });
    await feedGeneric(
      { runId: 'small', steps: 40, every: 20, seed: 1 },
      {
        name: 'small lr',
        tags: ['sweep'],
        config: { lr: 0.001, steps: 40, unet: { widths: [4, 8] } },
      },
    ).done;
    await feedGeneric(
      { runId: 'big', steps: 60, every: 20, seed: 2 },
      {
        name: 'big lr',
        tags: ['sweep', 'wide'],
        notes: 'twice the width',
        config: { lr: 0.01, steps: 60, unet: { widths: [8, 16] } },
      },
    ).done;
    // A run whose script threw: stored failed, with its error.
    await feedRun(
      concat(
        from(genericRun({ runId: 'broken', steps: 5 })),
        throwError(() => new Error('NaN in border fraction')),
      ),
      { runsDir, hub, runId: 'broken', name: 'broken script' },
    ).done.catch(() => {});
    await page.goto(server.url);
    await waitForAttr(page, 'phasewatch-app', 'data-connection', (v) => v === 'open');
    await waitForAttr(page, 'runs-table', 'data-shown', (v) => v === '3');
    expect(await page.locator('runs-table tr[data-run=broken]').textContent())
      .to.contain('failed')
      .and.contain('NaN in border fraction');
    await page.locator('runs-table input[type=search]').fill('status:failed');
    await waitForAttr(page, 'runs-table', 'data-order', (v) => v === 'broken');
    await page.locator('runs-table tr[data-run=broken]').click();
    await waitForAttr(page, 'alert-banner', 'data-count', (v) => v === '1');
    expect(await page.locator('alert-banner [role=alert]').textContent()).to.contain(
      'run failed: Error: NaN in border fraction',
    );
    await page.locator('runs-table input[type=search]').fill('tag:sweep');
    await waitForAttr(page, 'runs-table', 'data-order', (v) => v === 'big,small');
    // Names, tags and config columns are in the table.
    const row = page.locator('runs-table tr[data-run=big]');
    expect(await row.textContent())
      .to.contain('big lr')
      .and.contain('wide')
      .and.contain('0.01');
    expect(await row.textContent()).to.contain('completed');
    // Search by tag, then sort by a config column both ways.
    await page.locator('runs-table input[type=search]').fill('tag:wide');
    await waitForAttr(page, 'runs-table', 'data-order', (v) => v === 'big');
    await page.locator('runs-table input[type=search]').fill('');
    await page.locator('runs-table th[data-key=lr]').click();
    // (A run without the key goes last either way.)
    await waitForAttr(page, 'runs-table', 'data-order', (v) => v === 'small,big,broken');
    await page.locator('runs-table th[data-key=lr]').click();
    await waitForAttr(page, 'runs-table', 'data-order', (v) => v === 'big,small,broken');

    // Select both: the config diff names what differs; each metric overlays both runs.
    await page.locator('runs-table tr[data-run=small]').click();
    await page.locator('runs-table tr[data-run=big] input[type=checkbox]').click();
    await waitForAttr(page, 'config-diff', 'data-keys', (v) => v === 'lr,steps,unet.widths');
    // Charts out of view skip their redraws: look at it, as a user would.
    await page.locator('metric-plot[data-name="custom/border-fraction"]').scrollIntoViewIfNeeded();
    await waitForAttr(
      page,
      'metric-plot[data-name="custom/border-fraction"]',
      'data-runs',
      (v) => v === '2',
    );
    expect(
      await page
        .locator('metric-plot[data-name="custom/border-fraction"]')
        .getAttribute('data-points'),
    ).to.equal('100');
    await waitForAttr(page, 'loss-chart', 'data-points', (v) => v === '100');
    // Embeddings and samples of the two runs side by side.
    await waitForAttr(page, 'embedding-view[data-run=small]', 'data-points', (v) => v === '120');
    await waitForAttr(page, 'embedding-view[data-run=big]', 'data-points', (v) => v === '120');
    await waitForAttr(page, 'sample-grid[data-run=big]', 'data-thumbs', (v) => v === '4');
    // One colour-by choice colours both.
    await page
      .locator('embedding-view[data-run=big] select[aria-label="colour by"]')
      .selectOption('radius');
    await waitForAttr(
      page,
      'embedding-view[data-run=small]',
      'data-colour-by',
      (v) => v === 'radius',
    );
    expect(errors).to.deep.equal([]);
  });

  it('follows a real training run: loss, metrics, phase, embedding and samples', async () => {
    server = await startServer({ runsDir, live$: hub, port: 0 });
    await page.goto(server.url);
    await waitForAttr(page, 'phasewatch-app', 'data-connection', (v) => v === 'open');
    const run$ = runExperiment(
      {
        runId: 'real',
        backend: 'cpu',
        size: 8,
        widths: [4, 8, 8],
        dx: 1,
        steps: 40,
        snapshotEvery: 20,
        samples: 24,
        batchSize: 8,
        ddimSteps: 2,
        timesteps: 10,
        confirm: 1,
      },
      { runsDir, hub },
    );
    const stored = await lastValueFrom(run$.pipe(toArray()));
    const assessed = stored.filter((e) => e.type === 'assessment').map((e) => String(e.step));
    await waitForAttr(page, 'loss-chart', 'data-points', (v) => v === '40');
    await waitForAttr(page, 'phase-timeline', 'data-phases', (v) => /^[ABC]+$/.test(v ?? ''));
    await waitForAttr(page, 'embedding-view', 'data-step', (v) => v === assessed.at(-1));
    await waitForAttr(page, 'sample-grid', 'data-step', (v) => v === assessed.at(-1));
    // Charts out of view skip their redraws: look at it, as a user would.
    await page.locator('metric-plot[data-name="phase/accuracy"]').scrollIntoViewIfNeeded();
    await waitForAttr(
      page,
      'metric-plot[data-name="phase/accuracy"]',
      'data-points',
      (v) => v === String(assessed.length),
    );
    expect(await page.locator('phasewatch-app').getAttribute('data-duplicates')).to.equal('0');
    expect(errors).to.deep.equal([]);
  });

  it('carries the page token to its socket and shows an empty runs dir plainly', async () => {
    server = await startServer({ runsDir, live$: hub, port: 0, token: 'tok-123' });
    await page.setViewportSize({ width: 1000, height: 700 });
    await page.goto(server.url);
    await waitForAttr(page, 'phasewatch-app', 'data-connection', (v) => v === 'open');
    expect(await page.locator('runs-table .empty').textContent()).to.contain('No runs yet');
    expect(await page.locator('embedding-view canvas').isVisible()).to.equal(true);
    // A run that starts later appears and is followed by itself.
    const live = feedRun(syntheticRun$({ runId: 'later', steps: 60, snapshotEvery: 20 }), {
      runsDir,
      hub,
      runId: 'later',
    });
    await live.done;
    await waitForAttr(page, 'loss-chart', 'data-points', (v) => v === '60');
    expect(
      await page.locator('runs-table tr[data-run=later]').getAttribute('aria-selected'),
    ).to.equal('true');
    expect(errors).to.deep.equal([]);
  });
});
