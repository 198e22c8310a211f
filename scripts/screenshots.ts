/**
 * Screenshots of the dashboard for the docs, taken on purpose (never by `npm test`):
 *
 *   npm run screenshots -- [--out docs/img]
 *
 * Serves a fresh runs dir holding a synthetic bump run compared with a second one
 * (`dashboard.png`), the phase panel of one (`dashboard-phase.png`), and a run logging generic kinds — a custom metric, a probe curve, a
 * matrix, an embedding coloured by class, images and an alert (`dashboard-generic.png`), and
 * a sweep over dx × seeds with two runs still going (`dashboard-sweep.png`, the sweep view) —
 * then photographs each page in headless chromium.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import { from, Subject, type Observable } from 'rxjs';
import { startServer } from '../engine/server/live-server.js';
import { syntheticRun$ } from '../engine/server/synthetic-run.js';
import { EVENTS_VERSION, type RunEvent, type UnsequencedEvent } from '../streams/events.js';
import { mulberry32 } from '../streams/mulberry32.js';
import { hasChromium, openBrowser, waitForAttr } from '../spec/dashboard/support/browser.js';
import { feedRun } from '../spec/dashboard/support/feed-run.js';
import { genericRun } from '../spec/dashboard/support/generic-run.js';

const { values } = parseArgs({ options: { out: { type: 'string', default: 'docs/img' } } });
const out = resolve(values.out ?? 'docs/img');
if (!hasChromium) {
  console.error('screenshots need chromium at /usr/bin/chromium (apt-get install chromium)');
  process.exit(2);
}
mkdirSync(out, { recursive: true });

const runsDir = mkdtempSync(join(tmpdir(), 'pw-screenshots-'));
const hub = new Subject<RunEvent>();
const server = await startServer({ runsDir, live$: hub, port: 0 });
const browser = await openBrowser({ width: 1440, height: 1000 });
try {
  const feed = (events$: Parameters<typeof feedRun>[0], runId: string, meta = {}) =>
    feedRun(events$, { runsDir, hub, runId, ...meta }).done;
  await feed(
    syntheticRun$({ runId: 'bumps-seed-7', steps: 600, snapshotEvery: 50, seed: 7 }),
    'bumps-seed-7',
    {
      name: 'bumps seed 7',
      tags: ['default'],
      config: { steps: 600, seed: 7, size: 16 },
    },
  );
  await feed(
    syntheticRun$({ runId: 'bumps-seed-3', steps: 400, snapshotEvery: 40, seed: 3 }),
    'bumps-seed-3',
    {
      name: 'bumps seed 3',
      tags: ['default'],
      config: { steps: 400, seed: 3, size: 16 },
    },
  );
  const { page } = browser;
  await page.goto(server.url);
  await waitForAttr(page, 'phasewatch-app', 'data-connection', (v) => v === 'open');
  await page.locator('runs-table tr[data-run=bumps-seed-7]').click();
  await page.locator('runs-table tr[data-run=bumps-seed-3] input[type=checkbox]').click();
  await waitForAttr(page, 'phase-timeline', 'data-phases', (v) => v === 'ABC,ABC');
  await seeAll(page);
  await page.screenshot({ path: join(out, 'dashboard.png'), fullPage: true });
  console.log(`wrote ${join(out, 'dashboard.png')}`);

  // One run: the phase panel, the rule with its thresholds and the figure that decided C.
  await page.locator('runs-table tr[data-run=bumps-seed-7] .name').click();
  await waitForAttr(page, 'phase-panel', 'data-decided', (v) => !!v);
  await page.locator('phase-panel').scrollIntoViewIfNeeded();
  await page.waitForTimeout(400);
  await page.locator('phase-panel').screenshot({ path: join(out, 'dashboard-phase.png') });
  console.log(`wrote ${join(out, 'dashboard-phase.png')}`);

  await feed(
    from(
      genericRun({
        runId: 'probe-run',
        steps: 300,
        every: 30,
        alerts: [
          { step: 210, level: 'warning', message: 'border fraction rose three checks in a row' },
        ],
      }),
    ),
    'probe-run',
    {
      name: 'probe run',
      tags: ['probe'],
      notes: 'a script with its own metric, curve and matrix',
      config: { steps: 300, seed: 1 },
    },
  );
  await page.locator('runs-table tr[data-run=probe-run]').click();
  await waitForAttr(page, 'matrix-view', 'data-cells', (v) => v === '36');
  await seeAll(page);
  await page.screenshot({ path: join(out, 'dashboard-generic.png'), fullPage: true });
  console.log(`wrote ${join(out, 'dashboard-generic.png')}`);

  // A sweep: dx × seeds, C sooner where the data are denser; two runs at dx 2 still going.
  const live: Subject<UnsequencedEvent>[] = [];
  for (const dx of [0.25, 0.5, 1, 2]) {
    for (const seed of [1, 2, 3]) {
      const runId = `density-dx${dx}_seed${seed}`;
      const running = dx === 2 && seed > 1;
      const events = sweepRunEvents(runId, dx, seed, running ? 900 + 150 * seed : 2000);
      const meta = {
        name: `dx=${dx},seed=${seed}`,
        tags: ['sweep', 'sweep:density'],
        config: { dx, dy: dx, seed, steps: 2000, size: 16 },
      };
      if (!running) {
        await feed(from(events), runId, meta);
        continue;
      }
      const open = new Subject<UnsequencedEvent>();
      live.push(open);
      feedRun(open as Observable<UnsequencedEvent>, { runsDir, hub, runId, ...meta });
      for (const e of events) open.next(e);
    }
  }
  await page.locator('runs-table tr[data-run="density-dx0.25_seed1"]').click();
  await page.locator('sweep-view select[aria-label=sweep]').selectOption('density');
  await waitForAttr(page, 'sweep-view', 'data-points', (v) => v?.split(';').length === 12);
  await page.locator('sweep-view').scrollIntoViewIfNeeded();
  await page.waitForTimeout(500);
  await page.locator('sweep-view').screenshot({ path: join(out, 'dashboard-sweep.png') });
  console.log(`wrote ${join(out, 'dashboard-sweep.png')}`);
  for (const open of live) open.complete();
} finally {
  await browser.close();
  await server.close();
  rmSync(runsDir, { recursive: true, force: true });
}

/**
 * Scrolls the page through, then back to the top: charts out of view skip their redraws, and
 * a full-page photograph should show every one drawn.
 */
async function seeAll(page: Page): Promise<void> {
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  for (let y = 0; y < height; y += 800) {
    await page.evaluate((top) => window.scrollTo(0, top), y);
    await page.waitForTimeout(150);
  }
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.waitForTimeout(300);
}

/**
 * The events of one run of a synthetic density sweep, up to step `until`: loss every step,
 * accuracy and R² every 100 steps rising around the step C is confirmed (later for larger dx,
 * seeds scattering it), phase A at 100, B before C for some.
 */
function sweepRunEvents(
  runId: string,
  dx: number,
  seed: number,
  until: number,
): UnsequencedEvent[] {
  const rand = mulberry32(seed * 97 + Math.round(dx * 100));
  const t = Date.now;
  const toC = Math.round((500 + 380 * Math.log2(dx * 4) + 250 * rand()) / 100) * 100;
  const toB = rand() < 0.5 ? toC - 200 : undefined;
  const out: UnsequencedEvent[] = [
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
        config: { dx, dy: dx, seed, steps: 2000, size: 16 },
        status: 'running',
      },
    },
  ];
  let phase: 'A' | 'B' | 'C' | null = null;
  for (let step = 1; step <= until; step++) {
    out.push({
      type: 'step',
      runId,
      step,
      time: t(),
      loss: 0.05 + 0.5 * Math.exp(-step / 300) * (0.9 + 0.2 * rand()),
      examplesPerSec: 500,
    });
    if (step % 100 !== 0) continue;
    const s = 1 / (1 + Math.exp(-(step - toC) / 120));
    out.push({
      type: 'metric',
      runId,
      step,
      time: t(),
      name: 'phase/accuracy',
      value: Math.min(1, 0.9 * s + 0.04 * rand()),
    });
    out.push({
      type: 'metric',
      runId,
      step,
      time: t(),
      name: 'phase/r2',
      value: Math.min(1, 0.3 + 0.65 * s + 0.04 * rand()),
    });
    const next = step >= toC ? 'C' : toB !== undefined && step >= toB ? 'B' : 'A';
    if (next !== phase) {
      out.push({ type: 'phase', runId, step, time: t(), from: phase, to: next, evidence: {} });
      phase = next;
    }
  }
  return out;
}
