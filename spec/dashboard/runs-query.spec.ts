import { expect } from 'chai';
import {
  configColumns,
  configDiff,
  filterRuns,
  flattenConfig,
  formatValue,
  runTitle,
  sortRuns,
} from '../../dashboard/runs-query.js';
import type { RunMeta } from '../../streams/events.js';

const run = (runId: string, extra: Partial<RunMeta> = {}): RunMeta => ({
  runId,
  createdAt: `2026-01-0${runId.length}T10:00:00Z`,
  backend: 'cpu',
  config: {},
  status: 'completed',
  ...extra,
});

describe('dashboard runs table queries', () => {
  const runs = [
    run('a', {
      name: 'baseline',
      tags: ['sweep', 'small'],
      config: { steps: 400, lr: 0.001, unet: { widths: [4, 8] } },
    }),
    run('bb', { status: 'failed', error: 'NaN loss', config: { steps: 100, lr: 0.001 } }),
    run('ccc', {
      name: 'wide',
      tags: ['sweep'],
      lastStep: 50,
      config: { steps: 1000, lr: 0.002, unet: { widths: [8, 16] } },
    }),
  ];

  it('flattens nested config and formats values for a table', () => {
    expect(flattenConfig({ steps: 10, unet: { widths: [4, 8], depth: { n: 2 } } })).to.deep.equal({
      steps: 10,
      'unet.widths': [4, 8],
      'unet.depth.n': 2,
    });
    expect([
      formatValue(undefined),
      formatValue(0.1 + 0.2),
      formatValue([4, 8]),
      formatValue('x'),
    ]).to.deep.equal(['–', '0.3', '[4,8]', 'x']);
  });

  it('diffs the config of selected runs: the keys that differ, or every key', () => {
    expect(configDiff(runs.slice(0, 2))).to.deep.equal([
      { key: 'steps', values: ['400', '100'], differs: true },
      { key: 'unet.widths', values: ['[4,8]', '–'], differs: true },
    ]);
    expect(configDiff(runs.slice(0, 2), true).map((r) => [r.key, r.differs])).to.deep.equal([
      ['lr', false],
      ['steps', true],
      ['unet.widths', true],
    ]);
    expect(configDiff([runs[0], runs[0]])).to.deep.equal([]);
    expect(configColumns(runs, 2)).to.deep.equal(['lr', 'steps']);
  });

  it('searches name, tags, status, error and config, by field, with negation', () => {
    const ids = (q: string) => filterRuns(runs, q).map((r) => r.runId);
    expect(ids('')).to.deep.equal(['a', 'bb', 'ccc']);
    expect(ids('base')).to.deep.equal(['a']);
    expect(ids('tag:sweep')).to.deep.equal(['a', 'ccc']);
    expect(ids('tag:sweep -wide')).to.deep.equal(['a']);
    expect(ids('status:failed')).to.deep.equal(['bb']);
    expect(ids('nan')).to.deep.equal(['bb']);
    expect(ids('steps:1000')).to.deep.equal(['ccc']);
    expect(ids('lr=0.002')).to.deep.equal(['ccc']);
    expect(ids('nothing-like-this')).to.deep.equal([]);
  });

  it('sorts by a field or a config key, missing values last either way', () => {
    const order = (key: string, dir: 1 | -1) => sortRuns(runs, key, dir).map((r) => r.runId);
    expect(order('steps', 1)).to.deep.equal(['bb', 'a', 'ccc']);
    expect(order('steps', -1)).to.deep.equal(['ccc', 'a', 'bb']);
    expect(order('name', 1)).to.deep.equal(['a', 'bb', 'ccc']);
    expect(order('step', -1)).to.deep.equal(['ccc', 'a', 'bb']);
    expect(order('unet.widths', -1)).to.deep.equal(['ccc', 'a', 'bb']);
    expect(order('created', -1)).to.deep.equal(['ccc', 'bb', 'a']);
    expect(runTitle(runs[1])).to.equal('bb');
  });
});
