import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Subject } from 'rxjs';
import type { Page } from 'playwright-core';
import { startServer, type LiveServer } from '../../engine/server/live-server.js';
import { storeSyntheticSweep } from '../../engine/server/synthetic-run.js';
import type { RunEvent } from '../../streams/events.js';
import {
  canvasStats,
  hasChromium,
  newPage,
  openBrowser,
  waitForAttr,
  type Browser,
} from './support/browser.js';

/** The step at which `runId` first confirmed C, read from its log; undefined if never. */
function stepToC(runsDir: string, runId: string): number | undefined {
  const lines = readFileSync(join(runsDir, runId, 'events.jsonl'), 'utf8').split('\n');
  for (const line of lines) {
    if (!line) continue;
    const e = JSON.parse(line) as RunEvent;
    if (e.type === 'phase' && e.to === 'C') return e.step;
  }
  return undefined;
}

describe('dashboard sweep panel from run summaries', function () {
  let runsDir: string;
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
    runsDir = mkdtempSync(join(tmpdir(), 'pw-sweep-summaries-'));
    ({ page, errors } = await newPage(browser!));
  });
  afterEach(async () => {
    await page?.close();
    await server?.close();
    server = undefined;
    rmSync(runsDir, { recursive: true, force: true });
  });

  it('opens a 20-run sweep with every point drawn from the summaries, no run replayed', async function () {
    this.timeout(60_000);
    const ids = storeSyntheticSweep({ runsDir, sweepId: 'big', runs: 20, steps: 200, points: 40 });
    server = await startServer({ runsDir, live$: new Subject<RunEvent>(), port: 0 });
    const sent: string[] = [];
    page.on('websocket', (ws) => ws.on('framesent', (f) => sent.push(String(f.payload))));

    await page.goto(server.url);
    await waitForAttr(page, 'phasewatch-app', 'data-connection', (v) => v === 'open');
    // The page opens on the sweep of the newest run: all 20 runs, steps to C against lr.
    await waitForAttr(page, 'sweep-view', 'data-keys', (v) => v === 'lr,seed');
    const want = ids
      .map((id) => {
        const lr = [0.0001, 0.0003, 0.001, 0.003][Number(id.split('-')[1]) % 4];
        const c = stepToC(runsDir, id);
        return c === undefined ? `${id}=${lr}:200:ended` : `${id}=${lr}:${c}:reached`;
      })
      .sort((a, b) => a.localeCompare(b))
      .join(';');
    expect(want).to.contain(':reached');
    await waitForAttr(page, 'sweep-view', 'data-points', (v) => v === want);
    expect(await page.locator('sweep-view').getAttribute('data-x')).to.equal('lr');
    expect(await page.locator('sweep-view').getAttribute('data-y')).to.equal('phase:C');
    await waitForAttr(page, 'sweep-view', 'data-drawn', (v) => Number(v) > 0);
    expect((await canvasStats(page, 'sweep-view .box canvas')).inked).to.be.above(0);
    // A metric from the summaries too: every run's last train/loss.
    await page.locator('sweep-view select[aria-label="y value"]').selectOption('metric:train/loss');
    await waitForAttr(
      page,
      'sweep-view',
      'data-points',
      (v) => v?.split(';').filter((p) => p.endsWith(':reached')).length === 20,
    );

    // What the page asked for: nothing to subscribe, so no replay.
    await new Promise((r) => setTimeout(r, 300));
    expect(sent.filter((m) => m.includes('"subscribe"'))).to.deep.equal([]);

    // Opening one run from the table replays that run alone.
    await page.locator('runs-table tr[data-run=big-3]').click();
    await waitForAttr(page, 'loss-chart', 'data-runs', (v) => v === '1').catch(() => undefined);
    const subscribes = sent
      .filter((m) => m.includes('"subscribe"'))
      .map((m) => (JSON.parse(m) as { runId: string }).runId);
    await new Promise((r) => setTimeout(r, 300));
    expect(subscribes).to.deep.equal(['big-3']);
    expect(errors).to.deep.equal([]);
  });
});
