import { expect } from 'chai';
import {
  advanceProgress,
  assessmentFiguresLine,
  formatDuration,
  newProgress,
  progressLine,
} from '../../../engine/cli/progress.js';
import type { ProgressState } from '../../../engine/cli/progress.js';

describe('progress', () => {
  const start: ProgressState = {
    step: 0,
    total: 100,
    loss: NaN,
    phase: null,
    examplesPerSec: 0,
    startedAt: 0,
    now: 0,
  };

  it('folds steps and phases into the line with an ETA', () => {
    let s = advanceProgress(start, {
      type: 'step',
      runId: 'r',
      seq: 1,
      step: 25,
      time: 10_000,
      loss: 0.12345,
      examplesPerSec: 160,
    });
    s = advanceProgress(s, {
      type: 'phase',
      runId: 'r',
      seq: 2,
      step: 25,
      time: 10_000,
      from: null,
      to: 'B',
      evidence: {},
    });
    expect(progressLine(s, 4)).to.equal(
      'step 25/100 [#---] loss 0.1235 phase B 160 ex/s elapsed 0:10 ETA 0:30',
    );
  });

  const runStart = (step: number, config: Record<string, unknown>, time = 0) =>
    ({
      type: 'run-start',
      runId: 'r',
      seq: 1,
      step,
      time,
      meta: { runId: 'r', createdAt: '', backend: 'cpu', config, status: 'running' },
    }) as const;
  const stepAt = (step: number, time: number) =>
    ({ type: 'step', runId: 'r', seq: 2, step, time, loss: 0.5, examplesPerSec: 10 }) as const;

  it("takes the total from the run's own stored config, not from the command line", () => {
    const s = advanceProgress(newProgress(3000), runStart(0, { steps: 1500 }));
    expect(progressLine(s, 4)).to.match(/^step 0\/1500 \[----\]/);
  });

  it('counts the ETA of a resumed run from the step it resumed at', () => {
    let s = advanceProgress(newProgress(0), runStart(600, { steps: 1000 }, 0));
    s = advanceProgress(s, stepAt(700, 10_000));
    // 100 steps in 10 s, 300 to go: 30 s (not 300/700 of the elapsed time)
    expect(progressLine(s, 10)).to.equal(
      'step 700/1000 [#######---] loss 0.5000 phase - 10 ex/s elapsed 0:10 ETA 0:30',
    );
  });

  it('shows the step alone when the run does not say how many steps it has', () => {
    let s = advanceProgress(newProgress(0), runStart(0, { model: 'mine' }));
    s = advanceProgress(s, stepAt(12, 2_000));
    expect(progressLine(s)).to.equal('step 12 loss 0.5000 phase - 10 ex/s elapsed 0:02');
  });

  it('formats durations', () => {
    expect(formatDuration(3_725_000)).to.equal('1:02:05');
    expect(formatDuration(NaN)).to.equal('--:--');
  });
  it("an assessment's figures: the bump rule's, or the representation rule's evidence", () => {
    const common = {
      accuracy: 0,
      bumps: { none: 0, one: 0, many: 0 },
      r2: { x: 0, y: 0, mean: 0.5 },
    };
    expect(assessmentFiguresLine({ ...common, accuracy: 0.812, evidence: {} })).to.equal(
      'acc 0.81 one-bump 0.00 R² 0.50',
    );
    const evidence = { structure: 0.4, ordering: 1, samplesOk: 0.254, intrinsicDim: 3.14 };
    expect(assessmentFiguresLine({ ...common, rule: 'representation', evidence })).to.equal(
      'structure 0.40 ordering 1.00 samples ok 0.25 dim 3.14',
    );
    expect(
      assessmentFiguresLine({
        ...common,
        rule: 'representation',
        evidence: { ...evidence, samplesOk: -1 },
      }),
    ).to.equal('structure 0.40 ordering 1.00 samples ok - dim 3.14');
  });
});
