import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { editRunLabels } from '../../../engine/store/labels.js';
import { listRuns, readRunMeta, RunStore } from '../../../engine/store/run-store.js';
import { main } from '../../../engine/cli/cli.js';

describe('run labels', () => {
  let runsDir: string;
  beforeEach(() => {
    runsDir = mkdtempSync(join(tmpdir(), 'pw-labels-'));
  });
  afterEach(() => rmSync(runsDir, { recursive: true, force: true }));

  it('edits the name, tags and notes of a live run without the writer undoing it', () => {
    const store = RunStore.create({
      runsDir,
      runId: 'r1',
      name: 'first',
      backend: 'cpu',
      config: {},
    });
    const dir = join(runsDir, 'r1');
    editRunLabels(dir, { tags: ['baseline'], notes: 'lr too high?' });
    store.updateMeta({ phase: 'A' }); // the writer rewrites meta.json
    expect(readRunMeta(dir)).to.include({ name: 'first', notes: 'lr too high?', phase: 'A' });
    expect(readRunMeta(dir).tags).to.deep.equal(['baseline']);
    editRunLabels(dir, { name: 'renamed' });
    store.close('completed', 0);
    const [listed] = listRuns(runsDir);
    expect(listed).to.include({ name: 'renamed', notes: 'lr too high?', status: 'completed' });
  });

  it('rejects bad labels with one line naming the field', () => {
    RunStore.create({ runsDir, runId: 'r2', backend: 'cpu', config: {} }).close('completed', 0);
    const dir = join(runsDir, 'r2');
    expect(() => editRunLabels(dir, { tags: ['a b'] })).to.throw(
      /^tags must be a list of at most 50 words/,
    );
    expect(() => editRunLabels(dir, { name: 'x'.repeat(201) })).to.throw(
      /^name must be text of at most 200/,
    );
    expect(() => editRunLabels(dir, { colour: 'red' } as never)).to.throw(
      /^unknown label "colour"/,
    );
    expect(() => editRunLabels(join(runsDir, 'nope'), { name: 'x' })).to.throw(
      /not a readable phasewatch run/,
    );
  });

  it('is the `phasewatch edit` command', async () => {
    RunStore.create({ runsDir, runId: 'r3', backend: 'cpu', config: {} }).close('completed', 0);
    const dir = join(runsDir, 'r3');
    expect(await main(['edit', dir, '--tags', 'a,b', '--notes', 'seen B'])).to.equal(0);
    expect(readRunMeta(dir)).to.include({ notes: 'seen B' });
    expect(readRunMeta(dir).tags).to.deep.equal(['a', 'b']);
    expect(await main(['edit', dir])).to.equal(1);
  });
});
