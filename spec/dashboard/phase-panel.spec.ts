import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { from, lastValueFrom, Subject, toArray } from 'rxjs';
import { runExperiment } from '../../engine/experiment/run-experiment.js';
import { startServer, type LiveServer } from '../../engine/server/live-server.js';
import type { RunEvent } from '../../streams/events.js';
import { hasChromium, newPage, openBrowser, waitForAttr, type Browser } from './support/browser.js';
import { BUMP_THRESHOLDS, bumpRun, LATE_C } from './support/bump-run.js';
import { feedRun } from './support/feed-run.js';

describe('phase panel in a browser', function () {
  let runsDir: string;
  let server: LiveServer | undefined;
  let browser: Browser | undefined;
  let evidenceKeys: string[] = [];

  before(async function () {
    if (!hasChromium) {
      console.log('    (skipped: /usr/bin/chromium is missing; apt-get install chromium)');
      this.skip();
    }
    this.timeout(120_000);
    runsDir = mkdtempSync(join(tmpdir(), 'pw-phase-panel-'));
    const hub = new Subject<RunEvent>();
    // A tiny real run of the default experiment: its metrics are what users open on.
    const stored = await lastValueFrom(
      runExperiment(
        {
          runId: 'default',
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
      ).pipe(toArray()),
    );
    evidenceKeys = Object.keys(stored.find((e) => e.type === 'assessment')?.evidence ?? {});
    await feedRun(from(bumpRun('late-c', 800, LATE_C)), { runsDir, hub, runId: 'late-c' }).done;
    server = await startServer({ runsDir, live$: hub, port: 0 });
    browser = await openBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    if (runsDir) rmSync(runsDir, { recursive: true, force: true });
  });

  const open = async (runId: string) => {
    const { page, errors } = await newPage(browser!);
    await page.goto(server!.url);
    await page.locator(`runs-table tr[data-run="${runId}"] .name`).click();
    await waitForAttr(
      page,
      `runs-table tr[data-run="${runId}"]`,
      'aria-selected',
      (v) => v === 'true',
    );
    await waitForAttr(page, 'phase-timeline', 'data-bands', (v) => !!v && !v.includes(','));
    return { page, errors };
  };

  it('opens the default run on one chart per figure: no rule setting, no duplicate', async () => {
    const { page, errors } = await open('default');
    const names = (
      (await waitForAttr(page, 'metric-panels', 'data-names', (v) => !!v?.includes('phase/r2'))) ??
      ''
    ).split(',');
    // The real run does log the settings and the twins as metrics…
    expect(evidenceKeys).to.include.members(['minR2', 'n', 'tol', 'r2x', 'oneBump']);
    // …but they are charted neither as constants nor twice.
    for (const k of ['minR2', 'minOneBump', 'minAccuracyOneBump', 'minNeighbourhood', 'n', 'tol'])
      expect(names).not.to.include(`evidence/${k}`);
    for (const k of ['oneBump', 'none', 'many', 'accuracy', 'r2x', 'r2y', 'r2mean'])
      expect(names).not.to.include(`evidence/${k}`);
    expect(names).to.include.members(['phase/r2', 'phase/one-bump', 'evidence/neighbourhood']);
    expect(new Set(names).size).to.equal(names.length);
    // The rule, with the default thresholds as the run's evidence holds them.
    expect(await page.locator('phase-panel').getAttribute('data-conditions')).to.equal(
      'oneBump>=0.5,accuracyOneBump>=0.8,r2mean>=0.3,neighbourhood>=0.25',
    );
    expect(errors).to.deep.equal([]);
    await page.close();
  });

  it('draws each threshold the run was judged by on its figure and marks the one that decided', async () => {
    const { page, errors } = await open('late-c');
    const t = BUMP_THRESHOLDS;
    await waitForAttr(page, 'phase-panel', 'data-phase', (v) => v === 'C');
    expect(await page.locator('phase-panel').getAttribute('data-conditions')).to.equal(
      `oneBump>=${t.minOneBump},accuracyOneBump>=${t.minAccuracyOneBump},r2mean>=${t.minR2},neighbourhood>=${t.minNeighbourhood}`,
    );
    expect(await page.locator('phase-panel').getAttribute('data-decided')).to.equal('r2mean');
    const decided = page.locator('phase-panel .cond.decided');
    expect(await decided.count()).to.equal(1);
    expect(await decided.getAttribute('data-condition')).to.equal('r2mean');
    // The threshold is a dashed line on the figure's chart, the figure one point per assessment.
    await decided.scrollIntoViewIfNeeded();
    const plot = 'phase-panel .cond.decided metric-plot';
    await waitForAttr(page, plot, 'data-points', (v) => v === '4');
    expect(await page.locator(plot).getAttribute('data-rules')).to.equal(String(t.minR2));
    const text = (await page.locator('phase-panel .now').textContent())?.replace(/\s+/g, ' ');
    expect(text).to.contain('A → C at step 800, decided by R² of the embedding 0.38 ≥ 0.35');
    const rule = (await page.locator('phase-panel .rule').textContent())?.replace(/\s+/g, ' ');
    expect(rule).to.contain(
      'A while one-bump share < 0.55 · C when accuracy among one-bump ≥ 0.85, R² of the embedding ≥ 0.35 and neighbourhood ≥ 0.3 · B otherwise',
    );
    expect(errors).to.deep.equal([]);
    await page.close();
  });
});
