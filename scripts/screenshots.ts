/**
 * Screenshots of the dashboard for the docs, taken on purpose (never by `npm test`):
 *
 *   npm run screenshots -- [--out docs/img]
 *
 * Serves a fresh runs dir holding a synthetic bump run compared with a second one
 * (`dashboard.png`), and a run logging generic kinds — a custom metric, a probe curve, a
 * matrix, an embedding coloured by class, images and an alert (`dashboard-generic.png`) —
 * then photographs each page in headless chromium.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { from, Subject } from 'rxjs';
import { startServer } from '../engine/server/live-server.js';
import { syntheticRun$ } from '../engine/server/synthetic-run.js';
import type { RunEvent } from '../streams/events.js';
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
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(out, 'dashboard.png'), fullPage: true });
  console.log(`wrote ${join(out, 'dashboard.png')}`);

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
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(out, 'dashboard-generic.png'), fullPage: true });
  console.log(`wrote ${join(out, 'dashboard-generic.png')}`);
} finally {
  await browser.close();
  await server.close();
  rmSync(runsDir, { recursive: true, force: true });
}
