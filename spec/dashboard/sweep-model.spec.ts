import { expect } from 'chai';
import type { Phase, RunMeta } from '../../streams/events.js';
import { sweepRunId } from '../../streams/sweep.js';
import { valueColours } from '../../dashboard/colour-scale.js';
import {
  median,
  phaseSteps,
  runY,
  spreadX,
  suitsLogAxis,
  sweepIdOf,
  sweepPlot,
  sweepsOf,
  sweptKeys,
  type SweepRun,
} from '../../dashboard/sweep-model.js';

const meta = (runId: string, config: Record<string, unknown>, extra: Partial<RunMeta> = {}) =>
  ({
    runId,
    createdAt: `2026-01-01T00:00:0${runId.length % 10}Z`,
    backend: 'cpu',
    status: 'running',
    config,
    ...extra,
  }) as RunMeta;

function run(
  runId: string,
  config: Record<string, unknown>,
  phases: [Phase, number][],
  opts: { lastStep?: number; ended?: boolean; acc?: number[] } = {},
): SweepRun {
  const acc = opts.acc ?? [];
  return {
    meta: meta(runId, config, { status: opts.ended ? 'completed' : 'running' }),
    series: {
      runId,
      lastStep: opts.lastStep ?? 100,
      phases: phases.map(([to, step]) => ({ to, step })),
      metrics: new Map(
        acc.length ? [['phase/accuracy', { steps: acc.map((_, i) => 10 * i), values: acc }]] : [],
      ),
      end: opts.ended ? {} : undefined,
    },
  };
}

describe('sweep model', () => {
  it('groups runs by their sweep:<id> tag, or by the id an older sweep built from the point', () => {
    expect(sweepIdOf({ runId: 'x', tags: ['sweep', 'sweep:density'] })).to.equal('density');
    // Older sweeps: name = point key, runId = <name>-<slug>, possibly a retry -rN.
    const point = { posEncoding: 'standard', seed: 2 };
    const id = sweepRunId('phase-b', point);
    const name = 'posEncoding=standard,seed=2';
    expect(sweepIdOf({ runId: id, name, tags: ['sweep'] })).to.equal('phase-b');
    expect(sweepIdOf({ runId: `${id}-r2`, name, tags: ['sweep'] })).to.equal('phase-b');
    expect(
      sweepIdOf({
        runId: 'density-dx0.5_dy0.5_seed1',
        name: 'dx=0.5,dy=0.5,seed=1',
        tags: ['sweep'],
      }),
    ).to.equal('density');
    // Not a sweep: no tag, or a name that is not the point's key.
    expect(sweepIdOf({ runId: id, name, tags: [] })).to.equal(undefined);
    expect(sweepIdOf({ runId: 'small', name: 'small lr', tags: ['sweep'] })).to.equal(undefined);
    const runs = [
      meta('a-dx1', {}, { tags: ['sweep:a'], createdAt: '2026-01-01T00:00:01Z' }),
      meta(
        'b-dx1',
        {},
        { tags: ['sweep:b'], createdAt: '2026-01-01T00:00:05Z', status: 'completed' },
      ),
      meta('a-dx2', {}, { tags: ['sweep:a'], createdAt: '2026-01-01T00:00:02Z' }),
      meta('lone', {}),
    ];
    expect(sweepsOf(runs)).to.deep.equal([
      { id: 'b', runIds: ['b-dx1'], running: 0 },
      { id: 'a', runIds: ['a-dx1', 'a-dx2'], running: 2 },
    ]);
  });

  it('lists the config keys that differ, replicate seeds last, identity keys never', () => {
    const keys = sweptKeys([
      { config: { seed: 1, dx: 0.5, lr: 1, runId: 'a', unet: { widths: [4] } } },
      { config: { seed: 2, dx: 2, lr: 1, runId: 'b', unet: { widths: [8] } } },
    ]);
    expect(keys).to.deep.equal(['dx', 'unet.widths', 'seed']);
    expect(sweptKeys([{ config: { a: 1 } }, { config: { a: 1 } }])).to.deep.equal([]);
    // A sweep's runs are named by their point: its keys come before values derived from them.
    const named = sweptKeys([
      { name: 'seed=1,dx=1', config: { datasetSize: 64, dx: 1, seed: 1 } },
      { name: 'seed=2,dx=2', config: { datasetSize: 16, dx: 2, seed: 2 } },
    ]);
    expect(named).to.deep.equal(['dx', 'datasetSize', 'seed']);
    // Runs not named by a point (two CLI runs at dx 0.5 and 2): the setting before what
    // follows from it, though 'datasetSize' sorts first.
    const unnamed = sweptKeys([
      { config: { datasetSize: 256, dx: 0.5, dy: 0.5, params: 900 } },
      { config: { datasetSize: 16, dx: 2, dy: 2, params: 900 } },
    ]);
    expect(unnamed).to.deep.equal(['dx', 'dy', 'datasetSize']);
  });

  it('reads a run from its server summary when that is newer than its series', () => {
    const summary = {
      runId: 'r',
      status: 'completed' as const,
      lastSeq: 500,
      lastStep: 300,
      phases: { A: 20, B: 90 },
      metrics: { 'phase/accuracy': { last: 0.7, min: 0.1, max: 0.9 } },
    };
    // A run not replayed: an empty series (lastSeq 0), all from the summary.
    const empty: SweepRun = {
      meta: meta('r', { dx: 1 }, { status: 'completed' }),
      series: { runId: 'r', lastStep: -1, lastSeq: 0, phases: [], metrics: new Map() },
      summary,
    };
    expect(runY(empty, { kind: 'phase', phase: 'B' })).to.deep.equal({ y: 90, status: 'reached' });
    expect(runY(empty, { kind: 'phase', phase: 'C' })).to.deep.equal({ y: 300, status: 'ended' });
    expect(runY(empty, { kind: 'metric', name: 'phase/accuracy', stat: 'max' })).to.deep.equal({
      y: 0.9,
      status: 'reached',
    });
    expect(runY(empty, { kind: 'metric', name: 'nope', stat: 'last' })).to.equal(undefined);
    // A followed run whose series is ahead of its summary: the series.
    const followed: SweepRun = {
      ...run('r', { dx: 1 }, [['A', 10]], { lastStep: 600 }),
      summary: { ...summary, status: 'running' as const },
    };
    followed.series.lastSeq = 900;
    expect(runY(followed, { kind: 'phase', phase: 'B' })).to.deep.equal({
      y: 600,
      status: 'pending',
    });
  });

  it('reads steps to a phase: reached, not yet (at its step), ended without, skipped', () => {
    const c = { dx: 1 };
    expect(
      phaseSteps({
        phases: [
          { to: 'A', step: 10 },
          { to: 'C', step: 50 },
          { to: 'C', step: 40 },
        ],
      }),
    ).to.deep.equal({ A: 10, C: 40 });
    expect(
      runY(
        run('r', c, [
          ['A', 10],
          ['C', 40],
        ]),
        { kind: 'phase', phase: 'C' },
      ),
    ).to.deep.equal({ y: 40, status: 'reached' });
    expect(
      runY(run('r', c, [['A', 10]], { lastStep: 70 }), { kind: 'phase', phase: 'C' }),
    ).to.deep.equal({ y: 70, status: 'pending' });
    expect(
      runY(run('r', c, [['A', 10]], { lastStep: 90, ended: true }), { kind: 'phase', phase: 'C' }),
    ).to.deep.equal({ y: 90, status: 'ended' });
    expect(
      runY(
        run('r', c, [
          ['A', 10],
          ['C', 40],
        ]),
        { kind: 'phase', phase: 'B' },
      ),
    ).to.deep.equal({ y: 40, status: 'skipped' });
    const withAcc = run('r', c, [], { acc: [0.1, 0.7, 0.4] });
    expect(runY(withAcc, { kind: 'metric', name: 'phase/accuracy', stat: 'last' })?.y).to.equal(
      0.4,
    );
    expect(runY(withAcc, { kind: 'metric', name: 'phase/accuracy', stat: 'max' })?.y).to.equal(0.7);
    expect(runY(withAcc, { kind: 'metric', name: 'phase/accuracy', stat: 'min' })?.y).to.equal(0.1);
    expect(runY(withAcc, { kind: 'metric', name: 'nope', stat: 'min' })).to.equal(undefined);
  });

  it('plots one point per run with the median and spread per value over the runs that got there', () => {
    const runs = [
      run('d2-s1', { dx: 2, seed: 1 }, [
        ['A', 10],
        ['C', 80],
      ]),
      run('d05-s1', { dx: 0.5, seed: 1 }, [
        ['A', 10],
        ['C', 40],
      ]),
      run('d05-s2', { dx: 0.5, seed: 2 }, [
        ['A', 10],
        ['C', 60],
      ]),
      run('d05-s3', { dx: 0.5, seed: 3 }, [
        ['A', 10],
        ['C', 30],
      ]),
      run('d2-s2', { dx: 2, seed: 2 }, [['A', 10]], { lastStep: 55 }),
    ];
    const plot = sweepPlot(runs, 'dx', { kind: 'phase', phase: 'C' });
    expect(plot.axis).to.equal('numeric');
    expect(
      plot.groups.map((g) => [g.label, g.runs, g.reached, g.median, g.min, g.max]),
    ).to.deep.equal([
      ['0.5', 3, 3, 40, 30, 60],
      ['2', 2, 1, 80, 80, 80],
    ]);
    expect(plot.points.map((p) => [p.runId, p.x, p.y, p.status])).to.deep.equal([
      ['d05-s1', 0.5, 40, 'reached'],
      ['d05-s2', 0.5, 60, 'reached'],
      ['d05-s3', 0.5, 30, 'reached'],
      ['d2-s1', 2, 80, 'reached'],
      ['d2-s2', 2, 55, 'pending'],
    ]);
    // Categorical keys sit at 0, 1, … in value order.
    const enc = sweepPlot(
      [run('a', { enc: 'standard' }, []), run('b', { enc: 'fine' }, [])],
      'enc',
      { kind: 'phase', phase: 'A' },
    );
    expect(enc.axis).to.equal('categorical');
    expect(enc.groups.map((g) => [g.label, g.x])).to.deep.equal([
      ['fine', 0],
      ['standard', 1],
    ]);
    expect(Number.isNaN(median([]))).to.equal(true);
  });

  it('spreads runs at one value sideways, within a third of the narrowest gap', () => {
    const p = (x: number) => ({
      runId: '',
      title: '',
      value: x,
      x,
      y: 0,
      status: 'reached' as const,
    });
    expect(spreadX([p(1), p(1), p(1), p(4)], false)).to.deep.equal([0.5, 1, 1.5, 4]);
    const log = spreadX([p(1), p(1), p(4)], true);
    expect(log[0] * log[1]).to.be.closeTo(1, 1e-9);
    expect(log[2]).to.equal(4);
    expect(
      suitsLogAxis({ axis: 'numeric', groups: [0.25, 0.5, 1, 2].map((x) => ({ x })) } as never),
    ).to.equal(true);
    expect(
      suitsLogAxis({ axis: 'numeric', groups: [1, 2, 3].map((x) => ({ x })) } as never),
    ).to.equal(false);
  });

  it('colours ordered numbers along the continuous scale by rank, other values by category', () => {
    const num = valueColours([0.25, 0.5, 1, 2]);
    expect(new Set(num).size).to.equal(4);
    expect(num.every((c) => c.startsWith('rgb('))).to.equal(true);
    const cat = valueColours(['fine', 'standard']);
    expect(cat.every((c) => c.startsWith('#'))).to.equal(true);
    expect(cat[0]).to.not.equal(cat[1]);
  });
});
