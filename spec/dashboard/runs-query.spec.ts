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
    expect(configColumns(runs, 2)).to.deep.equal(['steps', 'lr']);
  });

  it('picks config columns: what differs, then what each run sets, labels and built-ins never', () => {
    // The default experiment stores its whole config, name, tags and backend included.
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
      name: 'r',
      tags: [],
      notes: '',
    };
    // One run: its own first keys, in its own order (not attention, attentionAt, …).
    expect(configColumns([run('one', { config: defaults })])).to.deep.equal([
      'steps',
      'snapshotEvery',
      'samples',
      'size',
      'dx',
      'dy',
    ]);
    // Two runs at dx 0.5 and 2: dx first; backend never, name and tags never.
    const cols = configColumns([
      run('a', { config: { ...defaults, dx: 0.5, name: 'a', tags: ['x'] } }),
      run('b', { config: { ...defaults, dx: 2 } }),
    ]);
    expect(cols[0]).to.equal('dx');
    expect(cols).not.to.include.members(['backend', 'name', 'tags', 'notes']);
    expect(new Set(cols).size).to.equal(cols.length);
    // A PyTorch run among default ones: its own keys make it in.
    const mixed = configColumns(
      [
        run('torch', { config: { lr: 0.01, T: 100, hidden: 64 } }),
        run('a', { config: defaults }),
        run('b', { config: { ...defaults, seed: 2 } }),
      ],
      8,
    );
    expect(mixed[0]).to.equal('seed');
    expect(mixed).to.include.members(['lr', 'T', 'hidden']);
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
