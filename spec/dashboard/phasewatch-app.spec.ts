import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, Subject, toArray } from 'rxjs';
import { runExperiment } from '../../engine/experiment.js';
import { startServer, type LiveServer } from '../../engine/server/live-server.js';
import { syntheticRun$ } from '../../engine/server/synthetic-run.js';
import type { RunEvent } from '../../streams/events.js';
import { hasChromium, openBrowser, waitForAttr, type Browser } from './support/browser.js';
import { feedRun } from './support/feed-run.js';

const screenshot = join(import.meta.dirname, '..', '..', 'docs', 'img', 'dashboard.png');

describe('dashboard in a browser', function () {
  let runsDir: string;
  let hub: Subject<RunEvent>;
  let server: LiveServer | undefined;
  let browser: Browser | undefined;

  before(function () {
    if (!hasChromium) {
      console.log('    (skipped: /usr/bin/chromium is missing; apt-get install chromium)');
      this.skip();
    }
  });
  beforeEach(() => {
    runsDir = mkdtempSync(join(tmpdir(), 'pw-browser-'));
    hub = new Subject<RunEvent>();
  });
  afterEach(async () => {
    await browser?.close();
    await server?.close();
    browser = server = undefined;
    rmSync(runsDir, { recursive: true, force: true });
  });

  it('shows a live run, survives a dropped socket without duplicates, and keeps UI state', async () => {
    server = await startServer({ runsDir, live$: hub, port: 0 });
    // A finished run on disk, to replay and compare with.
    await feedRun(syntheticRun$({ runId: 'baseline', steps: 600, snapshotEvery: 50, seed: 7 }), {
      runsDir,
      hub,
      runId: 'baseline',
    }).done;
    browser = await openBrowser();
    const { page } = browser;
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

    // Scrub back to the 5th snapshot and drop the socket: the view stays where it was put.
    await page.locator('embedding-view input[type=range]').fill('4');
    await waitForAttr(page, 'embedding-view', 'data-step', (v) => v === '200');
    server.disconnectAll();
    await waitForAttr(page, 'phasewatch-app', 'data-reconnects', (v) => Number(v) >= 2);
    await waitForAttr(page, 'phasewatch-app', 'data-connection', (v) => v === 'open');
    expect(await page.locator('embedding-view').getAttribute('data-step')).to.equal('200');
    expect(await page.locator('loss-chart').getAttribute('data-points')).to.equal(String(steps));

    // Compare with the stored run: its events are replayed from disk.
    await page.locator('run-list li[data-run=baseline] input[type=checkbox]').click();
    await waitForAttr(page, 'loss-chart', 'data-points', (v) => v === String(steps + 600));
    await waitForAttr(page, 'phase-timeline', 'data-phases', (v) => v === 'ABC,ABC');
    expect(await page.locator('phasewatch-app').getAttribute('data-duplicates')).to.equal('0');

    await page.locator('embedding-view input[type=range]').fill('7');
    await page.waitForTimeout(100);
    mkdirSync(join(screenshot, '..'), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
    expect(browser.errors).to.deep.equal([]);
  });

  it('follows a real training run: loss, metrics, phase, embedding and samples', async () => {
    server = await startServer({ runsDir, live$: hub, port: 0 });
    browser = await openBrowser();
    const { page } = browser;
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
    expect(await page.locator('phasewatch-app').getAttribute('data-duplicates')).to.equal('0');
    expect(browser.errors).to.deep.equal([]);
  });

  it('carries the page token to its socket and shows an empty runs dir plainly', async () => {
    server = await startServer({ runsDir, live$: hub, port: 0, token: 'tok-123' });
    browser = await openBrowser({ width: 1000, height: 700 });
    const { page } = browser;
    await page.goto(server.url);
    await waitForAttr(page, 'phasewatch-app', 'data-connection', (v) => v === 'open');
    expect(await page.locator('run-list .empty').textContent()).to.contain('No runs yet');
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
      await page.locator('run-list li[data-run=later]').getAttribute('aria-selected'),
    ).to.equal('true');
    expect(browser.errors).to.deep.equal([]);
  });
});
