import { expect } from 'chai';
import {
  applyMessage,
  createState,
  defaultSelection,
  parseServerMessage,
} from '../../dashboard/run-state.js';
import type { RunEvent, RunMeta } from '../../streams/events.js';

describe('dashboard run state', () => {
  const step = (runId: string, seq: number): RunEvent => ({
    type: 'step',
    runId,
    seq,
    step: seq * 10,
    time: 1000 + seq,
    loss: 1 / seq,
    examplesPerSec: 1,
  });

  it('folds event batches into columns and ignores anything seen twice', () => {
    const st = createState();
    applyMessage(st, { v: 1, type: 'events', events: [step('a', 1), step('a', 2), step('b', 1)] });
    expect(applyMessage(st, { v: 1, type: 'event', event: step('a', 2) })).to.equal(false);
    applyMessage(st, { v: 1, type: 'event', event: step('a', 3) });
    const a = st.series.get('a')!;
    expect(a.steps).to.deep.equal([10, 20, 30]);
    expect(a.lastSeq).to.equal(3);
    expect(a.lastStepTime).to.equal(1003);
    expect(st.duplicates).to.equal(1);
    expect(st.series.get('b')!.steps).to.deep.equal([10]);
  });

  it('keeps assessments, phases, the end, gaps, replay marks and errors', () => {
    const st = createState();
    const rev = st.revision;
    applyMessage(st, {
      v: 1,
      type: 'event',
      event: {
        type: 'phase',
        runId: 'a',
        seq: 1,
        step: 50,
        time: 0,
        from: null,
        to: 'A',
        evidence: {},
      },
    });
    applyMessage(st, { v: 1, type: 'gap', runId: 'a', dropped: 7, fromSeq: 2, toSeq: 8 });
    applyMessage(st, { v: 1, type: 'replayed', runId: 'a', lastSeq: 1 });
    applyMessage(st, { v: 1, type: 'error', message: 'unknown runId "z"' });
    applyMessage(st, {
      v: 1,
      type: 'event',
      event: { type: 'run-end', runId: 'a', seq: 9, step: 90, time: 0, status: 'completed' },
    });
    const a = st.series.get('a')!;
    expect(a.phases.map((p) => p.to)).to.deep.equal(['A']);
    expect([a.dropped, a.replayed, a.end?.status, a.lastStep]).to.deep.equal([
      7,
      true,
      'completed',
      90,
    ]);
    expect(st.lastError).to.equal('unknown runId "z"');
    expect(st.revision).to.equal(rev + 5);
  });

  it('parses only v1 messages', () => {
    expect(parseServerMessage('{"v":1,"type":"runs","runs":[]}')).to.deep.equal({
      v: 1,
      type: 'runs',
      runs: [],
    });
    expect(parseServerMessage('{"v":2,"type":"runs"}')).to.equal(null);
    expect(parseServerMessage('nope')).to.equal(null);
    expect(parseServerMessage('null')).to.equal(null);
  });

  it('opens on the newest running run, else the newest run', () => {
    const meta = (runId: string, createdAt: string, status: RunMeta['status']): RunMeta => ({
      runId,
      createdAt,
      status,
      backend: 'cpu',
      config: {},
    });
    const runs = [
      meta('a', '2026-01-01', 'completed'),
      meta('b', '2026-01-02', 'running'),
      meta('c', '2026-01-03', 'stopped'),
    ];
    expect(defaultSelection(runs)).to.deep.equal(['b']);
    expect(defaultSelection(runs.filter((r) => r.runId !== 'b'))).to.deep.equal(['c']);
    expect(defaultSelection([])).to.deep.equal([]);
  });
});
