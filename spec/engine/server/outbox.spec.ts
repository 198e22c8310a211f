import { expect } from 'chai';
import { Outbox } from '../../../engine/server/outbox.js';
import type { RunEvent } from '../../../streams/events.js';

describe('live server outbox', () => {
  const step = (runId: string, seq: number): RunEvent => ({
    type: 'step',
    runId,
    seq,
    step: seq,
    time: 0,
    loss: 1,
    examplesPerSec: 1,
  });
  const snap = (runId: string, seq: number): RunEvent => ({
    type: 'snapshot',
    runId,
    seq,
    step: seq,
    time: 0,
    file: '',
    count: 0,
    size: 0,
    dim: 0,
    sampleMs: 0,
  });
  const phase = (runId: string, seq: number): RunEvent => ({
    type: 'phase',
    runId,
    seq,
    step: seq,
    time: 0,
    from: null,
    to: 'A',
    evidence: {},
  });

  it('drops the oldest steps beyond its cap and reports them as one gap per run', () => {
    const box = new Outbox(8);
    box.push(phase('a', 1));
    for (let seq = 2; seq <= 11; seq++) box.push(step('a', seq));
    const { events, gaps } = box.drain();
    // Over the cap by one, it drops down to three quarters of it: 2, 3 and 4 go.
    expect(events.map((e) => e.seq)).to.deep.equal([1, 5, 6, 7, 8, 9, 10, 11]);
    expect(gaps).to.deep.equal([{ runId: 'a', dropped: 3, fromSeq: 2, toSeq: 4 }]);
    expect(box.drain()).to.deep.equal({ events: [], gaps: [] });
  });

  it('coalesces assessments and snapshots to the newest per run, keeping order', () => {
    const box = new Outbox();
    [snap('a', 1), step('a', 2), snap('b', 1), snap('a', 3), phase('a', 4), snap('a', 5)].forEach(
      (e) => box.push(e),
    );
    box.coalesce();
    expect(box.drain().events.map((e) => `${e.runId}${e.seq}`)).to.deep.equal([
      'a2',
      'b1',
      'a4',
      'a5',
    ]);
  });

  it('discards one run or everything', () => {
    const box = new Outbox(10);
    [step('a', 1), step('b', 1), step('a', 2)].forEach((e) => box.push(e));
    box.discard('a');
    expect(box.size).to.equal(1);
    box.discard();
    expect(box.size).to.equal(0);
  });
});
