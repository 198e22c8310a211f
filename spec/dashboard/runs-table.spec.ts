import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { from, Subject } from 'rxjs';
import { startServer, type LiveServer } from '../../engine/server/live-server.js';
import type { RunEvent, UnsequencedEvent } from '../../streams/events.js';
import { hasChromium, openBrowser, waitForAttr, type Browser } from './support/browser.js';
import { feedRun } from './support/feed-run.js';

/** The config the default experiment stores: every setting, name, tags and backend included. */
const defaults = {
  steps: 400,
  snapshotEvery: 50,
  samples: 200,
  size: 16,
  dx: 1,
  dy: 1,
  seed: 1,
  backend: 'cpu',
  attention: false,
  attentionAt: [],
  batchSize: 64,
  name: '',
  tags: [] as string[],
  notes: '',
};

describe('runs table in a browser', function () {
  let runsDir: string;
  let server: LiveServer | undefined;
  let browser: Browser | undefined;

  before(async function () {
    if (!hasChromium) {
      console.log('    (skipped: /usr/bin/chromium is missing; apt-get install chromium)');
      this.skip();
    }
    runsDir = mkdtempSync(join(tmpdir(), 'pw-runs-table-'));
    const hub = new Subject<RunEvent>();
    const store = async (runId: string, config: Record<string, unknown>, name?: string) => {
      const step: UnsequencedEvent = {
        type: 'step',
        runId,
        step: 10,
        time: Date.now(),
        loss: 0.5,
        examplesPerSec: 1,
      };
      await feedRun(from([step]), { runsDir, hub, runId, config, name }).done;
    };
    await store('dx-half', { ...defaults, dx: 0.5, name: 'half', tags: ['a'] }, 'half');
    await store('dx-two', { ...defaults, dx: 2 });
    // What a PyTorch script sends through the Python client: its own few keys.
    await store('torch', { lr: 0.01, T: 100, hidden: 64 });
    server = await startServer({ runsDir, live$: hub, port: 0 });
    browser = await openBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    if (runsDir) rmSync(runsDir, { recursive: true, force: true });
  });

  const headers = async () =>
    browser!.page
      .locator('runs-table th')
      .evaluateAll((ths) => ths.map((th) => th.getAttribute('data-key') ?? ''));

  it('shows each key once: what differs first, a PyTorch run’s own keys, no labels as config', async () => {
    const { page, errors } = browser!;
    await page.goto(server!.url);
    const columns = (
      await waitForAttr(page, 'runs-table', 'data-columns', (v) => !!v?.includes('dx'))
    )?.split(',');
    expect(columns?.[0]).to.equal('dx');
    expect(columns).to.include.members(['lr', 'T', 'hidden']);
    expect(columns).not.to.include.members(['name']);
    expect(columns).not.to.include.members(['tags']);
    expect(columns).not.to.include.members(['backend']);
    const keys = (await headers()).filter(Boolean);
    expect(new Set(keys).size, keys.join()).to.equal(keys.length);
    // Narrowed to the default runs by search, the columns are theirs.
    await page.locator('runs-table input[type=search]').fill('-torch');
    const narrowed = await waitForAttr(
      page,
      'runs-table',
      'data-columns',
      (v) => !v?.includes('lr'),
    );
    expect(narrowed?.split(',').slice(0, 3)).to.deep.equal(['dx', 'steps', 'snapshotEvery']);
    expect(errors).to.deep.equal([]);
  });

  it('lets the user pick columns, and keeps the choice across visits', async () => {
    const { page, errors } = browser!;
    await page.goto(server!.url);
    await waitForAttr(page, 'runs-table', 'data-picked', (v) => v === 'false');
    await page.locator('runs-table details.columns summary').click();
    await page.locator('runs-table .pick-list input[data-key=batchSize]').check();
    await page.locator('runs-table .pick-list input[data-key=dx]').uncheck();
    const picked = await waitForAttr(
      page,
      'runs-table',
      'data-columns',
      (v) => !!v?.endsWith('batchSize'),
    );
    expect(picked?.split(',')).not.to.include('dx');
    expect(await headers()).to.include('batchSize');
    // A new visit (the same browser profile) opens on the same columns.
    await page.reload();
    expect(await waitForAttr(page, 'runs-table', 'data-columns', (v) => v === picked)).to.equal(
      picked,
    );
    expect(await page.locator('runs-table').getAttribute('data-picked')).to.equal('true');
    // Back to the default columns, also kept.
    await page.locator('runs-table details.columns summary').click();
    await page.locator('runs-table .pick-list button').click();
    await waitForAttr(page, 'runs-table', 'data-columns', (v) => !!v?.startsWith('dx'));
    await page.reload();
    await waitForAttr(page, 'runs-table', 'data-picked', (v) => v === 'false');
    expect(errors).to.deep.equal([]);
  });

  it('edits a run’s name and tags in the table: written to labels.json, shown at once; bad ones say why', async () => {
    // A server with a token: the page's token goes with the edit, as ingest requires.
    const hub = new Subject<RunEvent>();
    const guarded = await startServer({ runsDir, live$: hub, port: 0, token: 'tok-9' });
    const { page, errors } = browser!;
    try {
      await page.goto(guarded.url);
      const row = 'runs-table tr.run[data-run=dx-two]';
      await page.locator(`${row} button.edit`).click();
      const form = page.locator('runs-table tr.editor[data-run=dx-two] form');
      await form.locator('input[name=name]').fill('two');
      await form.locator('input[name=tags]').fill('baseline, dx2');
      await form.locator('button[type=submit]').click();
      const text = async () => (await page.locator(row).textContent()) ?? '';
      for (let i = 0; i < 100 && !(await text()).includes('baseline'); i++)
        await new Promise((r) => setTimeout(r, 50));
      expect(await text())
        .to.contain('two')
        .and.contain('baseline')
        .and.contain('dx2');
      expect(await page.locator('runs-table tr.editor').count()).to.equal(0);
      const onDisk = () =>
        JSON.parse(readFileSync(join(runsDir, 'dx-two', 'labels.json'), 'utf8')) as Record<
          string,
          unknown
        >;
      expect(onDisk()).to.deep.include({ name: 'two', tags: ['baseline', 'dx2'] });
      // A tag with a space inside cannot be written: the editor says why, the disk keeps its tags.
      await page.locator(`${row} button.edit`).click();
      await form.locator('input[name=tags]').fill('baseline, two words');
      await form.locator('button[type=submit]').click();
      const error = page.locator('runs-table tr.editor .error');
      await error.waitFor();
      expect(await error.textContent()).to.match(/^tags must be a list of at most 50 words/);
      expect(onDisk()).to.deep.include({ tags: ['baseline', 'dx2'] });
      expect(errors).to.deep.equal([]);
    } finally {
      await guarded.close();
    }
  });
});
