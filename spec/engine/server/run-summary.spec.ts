import { expect } from 'chai';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Subject } from 'rxjs';
import { WebSocket } from 'ws';
import { startServer, type LiveServer } from '../../../engine/server/live-server.js';
import { RunSummaries, foldSummary, emptySummary } from '../../../engine/server/run-summary.js';
import { RunStore } from '../../../engine/store/run-store.js';
import type { RunEvent } from '../../../streams/events.js';
import type { RunsMessage } from '../../../streams/protocol.js';

/** A stored run: steps 1..50, accuracy every 10 steps, A at 10, C at 40 (never B). */
function storeRun(runsDir: string, runId: string, end = true): RunStore {
  const store = RunStore.create({ runsDir, runId, backend: 'cpu', config: { dx: 1 } });
  const t = Date.now();
  for (let step = 1; step <= 50; step++) {
    store.append({ type: 'step', runId, step, time: t, loss: 1 / step, examplesPerSec: 1 });
    if (step % 10 === 0) {
      const value = [0.2, 0.9, 0.4, 0.7, 0.6][step / 10 - 1];
      store.append({ type: 'metric', runId, step, time: t, name: 'phase/accuracy', value });
    }
    if (step === 10 || step === 40) {
      const to = step === 10 ? 'A' : 'C';
      const from = step === 10 ? null : 'A';
      store.append({ type: 'phase', runId, step, time: t, from, to, evidence: {} });
    }
  }
  if (end) store.close('completed', 50);
  return store;
}

describe('run summaries', () => {
  let runsDir: string;
  beforeEach(() => {
    runsDir = mkdtempSync(join(tmpdir(), 'pw-summary-'));
  });
  afterEach(() => rmSync(runsDir, { recursive: true, force: true }));

  it('sums a stored run up from its log: status, the step of each phase, metrics last/min/max', () => {
    storeRun(runsDir, 'r1');
    const s = new RunSummaries(runsDir).get('r1');
    expect(s.status).to.equal('completed');
    expect(s.phases).to.deep.equal({ A: 10, C: 40 });
    expect(s.lastStep).to.equal(50);
    expect(s.metrics['phase/accuracy']).to.deep.equal({ last: 0.6, min: 0.2, max: 0.9 });
  });

  it('reads a stored log once: unchanged size and mtime are not read again', () => {
    storeRun(runsDir, 'r1');
    const summaries = new RunSummaries(runsDir);
    expect(summaries.get('r1').phases).to.deep.equal({ A: 10, C: 40 });
    // Same bytes count and mtime, different content: a second read would see phase B.
    const file = join(runsDir, 'r1', 'events.jsonl');
    const { mtime, atime } = statSync(file);
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.replace('"to":"C"', '"to":"B"'));
    utimesSync(file, atime, mtime);
    expect(summaries.get('r1').phases).to.deep.equal({ A: 10, C: 40 });
  });

  it('is kept current by live events and by the lines appended since, each event once', () => {
    const store = storeRun(runsDir, 'live', false);
    const summaries = new RunSummaries(runsDir);
    expect(summaries.get('live').status).to.equal('running');
    // A live event folded in (as the server hears it), then the same event read from the log.
    const t = Date.now();
    const metric = store.append({
      type: 'metric',
      runId: 'live',
      step: 51,
      time: t,
      name: 'phase/accuracy',
      value: 0.1,
    });
    summaries.observe(metric);
    summaries.observe(metric);
    let s = summaries.get('live');
    expect(s.metrics['phase/accuracy']).to.deep.equal({ last: 0.1, min: 0.1, max: 0.9 });
    expect(s.lastSeq).to.equal(metric.seq);
    // Appended lines only: a new metric and the end.
    store.append({ type: 'metric', runId: 'live', step: 52, time: t, name: 'loss/ema', value: 3 });
    store.close('stopped', 52);
    s = summaries.get('live');
    expect(s.status).to.equal('stopped');
    expect(s.lastStep).to.equal(52);
    expect(s.metrics['loss/ema']).to.deep.equal({ last: 3, min: 3, max: 3 });
    expect(s.metrics['phase/accuracy'].last).to.equal(0.1);
  });

  it('folds an event at or below the summary seq as nothing', () => {
    const s = emptySummary('x');
    const phase = (seq: number, step: number): RunEvent => ({
      type: 'phase',
      runId: 'x',
      seq,
      step,
      time: 0,
      from: null,
      to: 'B',
      evidence: {},
    });
    foldSummary(s, phase(5, 30));
    foldSummary(s, phase(4, 10));
    expect(s.phases).to.deep.equal({ B: 30 });
    foldSummary(s, phase(6, 20));
    expect(s.phases).to.deep.equal({ B: 20 });
  });

  it('keeps odd metric names as metrics of their own, and skips a log that cannot be read', () => {
    const s = emptySummary('x');
    const metric = (seq: number, name: string, value: number): RunEvent => ({
      type: 'metric',
      runId: 'x',
      seq,
      step: seq,
      time: 0,
      name,
      value,
    });
    foldSummary(s, metric(1, '__proto__', 1));
    foldSummary(s, metric(2, 'toString', 2));
    foldSummary(s, metric(3, '__proto__', 3));
    expect(Object.keys(s.metrics)).to.deep.equal(['__proto__', 'toString']);
    expect(s.metrics['__proto__']).to.deep.equal({ last: 3, min: 1, max: 3 });
    expect(({} as Record<string, unknown>).last).to.equal(undefined);
    // events.jsonl a directory: an empty summary, no throw.
    mkdirSync(join(runsDir, 'odd', 'events.jsonl'), { recursive: true });
    expect(new RunSummaries(runsDir).get('odd').lastSeq).to.equal(0);
  });

  describe('sent with the catalogue', () => {
    let server: LiveServer | undefined;
    afterEach(async () => {
      await server?.close();
      server = undefined;
    });

    it('gives a client each run summary in its first runs message', async () => {
      storeRun(runsDir, 'r1');
      storeRun(runsDir, 'r2');
      server = await startServer({ runsDir, live$: new Subject<RunEvent>(), port: 0 });
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`);
      const msg = await new Promise<RunsMessage>((resolve, reject) => {
        ws.once('message', (data) => resolve(JSON.parse(String(data)) as RunsMessage));
        ws.once('error', reject);
      });
      ws.close();
      expect(msg.type).to.equal('runs');
      expect(msg.summaries?.map((s) => [s.runId, s.status, s.phases])).to.deep.equal([
        ['r1', 'completed', { A: 10, C: 40 }],
        ['r2', 'completed', { A: 10, C: 40 }],
      ]);
    });
  });
});
