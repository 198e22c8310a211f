import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { from, Subject } from 'rxjs';
import { startServer, type LiveServer } from '../../engine/server/live-server.js';
import type { RunEvent } from '../../streams/events.js';
import { hasChromium, openBrowser, waitForAttr, type Browser } from './support/browser.js';
import { bumpRun, LATE_C } from './support/bump-run.js';
import { feedRun } from './support/feed-run.js';

describe('phase timeline in a browser', function () {
  let runsDir: string;
  let server: LiveServer | undefined;
  let browser: Browser | undefined;

  before(async function () {
    if (!hasChromium) {
      console.log('    (skipped: /usr/bin/chromium is missing; apt-get install chromium)');
      this.skip();
    }
    runsDir = mkdtempSync(join(tmpdir(), 'pw-timeline-'));
    const hub = new Subject<RunEvent>();
    await feedRun(from(bumpRun('late-c', 800, LATE_C)), { runsDir, hub, runId: 'late-c' }).done;
    server = await startServer({ runsDir, live$: hub, port: 0 });
    browser = await openBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    if (runsDir) rmSync(runsDir, { recursive: true, force: true });
  });

  it('draws a phase reached at the last step up to that step, and says what decided it', async () => {
    const { page, errors } = browser!;
    await page.goto(server!.url);
    await waitForAttr(page, 'phase-timeline', 'data-bands', (v) => v === 'A:200-800 C:800-800');
    const bands = page.locator('phase-timeline rect.seg');
    expect(await bands.count()).to.equal(2);
    const box = async (i: number) =>
      bands.nth(i).evaluate((r) => {
        const { x, width } = (r as SVGRectElement).getBBox();
        return { x, end: x + width };
      });
    // The row's empty band spans the steps 0 to the last; the C band ends where it ends.
    const row = await page
      .locator('phase-timeline svg > rect')
      .first()
      .evaluate((r) => {
        const { x, width } = (r as SVGRectElement).getBBox();
        return x + width;
      });
    const [a, c] = [await box(0), await box(1)];
    expect(await bands.nth(1).getAttribute('data-phase')).to.equal('C');
    expect(c.end).to.be.closeTo(row, 0.5);
    expect(c.end - c.x).to.be.greaterThan(3);
    expect(a.end).to.be.closeTo(row, 0.5);
    // Hovering says which condition moved the run, not every raw figure.
    const title = await bands.nth(1).locator('title').textContent();
    expect(title).to.contain('A → C: R² of the embedding 0.38 ≥ 0.35');
    expect(title).not.to.contain('labelsInImage');
    const marker = await page.locator('phase-timeline g.marker title').last().textContent();
    expect(marker).to.contain('A → C at step 800');
    expect(marker).to.contain('decided by R² of the embedding 0.38 ≥ 0.35');
    expect(errors).to.deep.equal([]);
  });
});
