import { expect } from 'chai';
import {
  addPoint,
  applyEvent,
  applyMessage,
  ASSESSMENT_NAMES,
  atStep,
  createState,
  defaultSelection,
  parseServerMessage,
  seriesTitle,
} from '../../dashboard/run-state.js';
import type { RunEvent, RunMeta } from '../../streams/events.js';
import { PROTOCOL_VERSION } from '../../streams/protocol.js';

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
    applyMessage(st, {
      v: PROTOCOL_VERSION,
      type: 'events',
      events: [step('a', 1), step('a', 2), step('b', 1)],
    });
    expect(applyMessage(st, { v: PROTOCOL_VERSION, type: 'event', event: step('a', 2) })).to.equal(
      false,
    );
    applyMessage(st, { v: PROTOCOL_VERSION, type: 'event', event: step('a', 3) });
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
      v: PROTOCOL_VERSION,
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
    applyMessage(st, {
      v: PROTOCOL_VERSION,
      type: 'gap',
      runId: 'a',
      dropped: 7,
      fromSeq: 2,
      toSeq: 8,
    });
    applyMessage(st, { v: PROTOCOL_VERSION, type: 'replayed', runId: 'a', lastSeq: 1 });
    applyMessage(st, { v: PROTOCOL_VERSION, type: 'error', message: 'unknown runId "z"' });
    applyMessage(st, {
      v: PROTOCOL_VERSION,
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

  it('parses only messages of the protocol version', () => {
    const v = PROTOCOL_VERSION;
    expect(parseServerMessage(`{"v":${v},"type":"runs","runs":[]}`)).to.deep.equal({
      v,
      type: 'runs',
      runs: [],
    });
    expect(parseServerMessage(`{"v":${v + 1},"type":"runs"}`)).to.equal(null);
    expect(parseServerMessage('{"v":1,"type":"runs"}')).to.equal(null);
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

  const base = (seq: number, step: number) => ({ runId: 'g', seq, step, time: 1000 + seq });
  const assessment = (seq: number, step: number): RunEvent => ({
    ...base(seq, step),
    type: 'assessment',
    accuracy: 0.5,
    bumps: { none: 0.1, one: 0.8, many: 0.1 },
    r2: { x: 0.7, y: 0.6, mean: 0.65 },
    phase: 'B',
    rawPhase: 'B',
    evidence: {},
    embedding: [0, 0, 0, 1, 1, 1],
    labels: [2, 3, 4, 5],
    size: 8,
    samples: [{ label: [2, 3], located: { x: 2, y: 3, count: 2 }, pixels: [0, 255] }],
  });
  const runStart = (eventsVersion?: number): RunEvent => ({
    ...base(1, 0),
    type: 'run-start',
    meta: {
      runId: 'g',
      name: 'my run',
      eventsVersion,
      createdAt: '2026-01-01',
      backend: 'cpu',
      config: {},
      status: 'running',
    },
  });

  it('keeps every generic kind by name: metrics sorted by step, curves, matrices, embeddings, images, alerts', () => {
    const st = createState();
    const events: RunEvent[] = [
      runStart(2),
      { ...base(2, 10), type: 'metric', name: 'custom/a', value: 1 },
      { ...base(3, 30), type: 'metric', name: 'custom/a', value: 3 },
      { ...base(4, 20), type: 'metric', name: 'custom/a', value: 2 },
      { ...base(5, 20), type: 'curve', name: 'probe/acc-t', x: [0, 1], y: [0.5, 0.6] },
      { ...base(6, 20), type: 'matrix', name: 'mi', rows: 1, cols: 2, values: [1, 2] },
      { ...base(7, 20), type: 'embedding', name: 'emb', points: [0, 0, 0], colourBy: { c: [1] } },
      { ...base(8, 20), type: 'images', name: 'img', size: 1, thumbs: [{ pixels: [9] }] },
      { ...base(9, 25), type: 'alert', level: 'warning', message: 'loss is NaN' },
    ];
    applyMessage(st, { v: PROTOCOL_VERSION, type: 'events', events });
    const g = st.series.get('g')!;
    expect(seriesTitle(g)).to.equal('my run');
    expect(g.metrics.get('custom/a')).to.deep.equal({ steps: [10, 20, 30], values: [1, 2, 3] });
    expect(g.curves.get('probe/acc-t')!.map((c) => c.step)).to.deep.equal([20]);
    expect(g.matrices.get('mi')![0].values).to.deep.equal([1, 2]);
    expect(g.embeddings.get('emb')![0]).to.include({ name: 'emb', step: 20, seq: 7 });
    expect(g.images.get('img')![0].thumbs).to.deep.equal([{ pixels: [9] }]);
    expect(g.alerts.map((a) => a.message)).to.deep.equal(['loss is NaN']);
    expect(g.lastStep).to.equal(30);
  });

  it('shows a v1 assessment as an embedding coloured by x and y, samples with marks, and phase metrics', () => {
    const st = createState();
    applyEvent(st, runStart(undefined));
    applyEvent(st, assessment(2, 50));
    const g = st.series.get('g')!;
    const emb = g.embeddings.get(ASSESSMENT_NAMES.embedding)![0];
    expect(emb.colourBy).to.deep.equal({ x: [2, 4], y: [3, 5] });
    expect([emb.phase, emb.r2]).to.deep.equal(['B', 0.65]);
    const thumb = g.images.get(ASSESSMENT_NAMES.samples)![0].thumbs[0];
    expect(thumb.caption).to.equal('2.0, 3.0 · 2 bumps');
    expect(thumb.marks!.map((m) => m.kind)).to.deep.equal(['label', 'found?']);
    expect(g.metrics.get(ASSESSMENT_NAMES.accuracy)).to.deep.equal({ steps: [50], values: [0.5] });
    expect(g.metrics.get(ASSESSMENT_NAMES.oneBump)!.values).to.deep.equal([0.8]);
    // A metric the run logs itself replaces the derived one of the same name.
    applyEvent(st, { ...base(3, 60), type: 'metric', name: ASSESSMENT_NAMES.accuracy, value: 0.9 });
    applyEvent(st, assessment(4, 70));
    expect(g.metrics.get(ASSESSMENT_NAMES.accuracy)).to.deep.equal({ steps: [60], values: [0.9] });
  });

  it('shows a representation assessment (any model) as an embedding coloured by its factors, with no sample grid', () => {
    const st = createState();
    applyEvent(st, runStart(2));
    applyEvent(st, {
      ...assessment(2, 50),
      rule: 'representation',
      factors: { angle: [0.1, 0.9], moon: [0, 1] },
      labels: [],
      size: 0,
      samples: [],
    } as RunEvent);
    const g = st.series.get('g')!;
    const emb = g.embeddings.get(ASSESSMENT_NAMES.embedding)![0];
    expect(emb.colourBy).to.deep.equal({ angle: [0.1, 0.9], moon: [0, 1] });
    expect(g.images.get(ASSESSMENT_NAMES.samples)).to.equal(undefined);
    expect(g.assessments).to.have.length(1);
  });

  it('derives no metrics from the assessments of a v2 run (it logs them itself)', () => {
    const st = createState();
    applyEvent(st, runStart(2));
    applyEvent(st, assessment(2, 50));
    const g = st.series.get('g')!;
    expect([...g.metrics.keys()]).to.deep.equal([]);
    expect(g.embeddings.get(ASSESSMENT_NAMES.embedding)).to.have.length(1);
  });

  it('picks the snapshot at or before a step, the newest for null', () => {
    const list = [{ step: 10 }, { step: 20 }, { step: 30 }];
    expect(atStep(list, null)).to.equal(list[2]);
    expect(atStep(list, 25)).to.equal(list[1]);
    expect(atStep(list, 5)).to.equal(list[0]);
    expect(atStep([], 5)).to.equal(undefined);
    const m = { steps: [1, 3], values: [10, 30] };
    addPoint(m, 2, 20);
    addPoint(m, 4, 40);
    expect(m).to.deep.equal({ steps: [1, 2, 3, 4], values: [10, 20, 30, 40] });
  });
});
