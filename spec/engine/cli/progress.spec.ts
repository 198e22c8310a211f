import { expect } from 'chai';
import { advanceProgress, formatDuration, progressLine } from '../../../engine/cli/progress.js';
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

  it('formats durations', () => {
    expect(formatDuration(3_725_000)).to.equal('1:02:05');
    expect(formatDuration(NaN)).to.equal('--:--');
  });
});
