import { expect } from 'chai';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AssessmentEvent, Phase, UnsequencedEvent } from '../../../streams/events.js';
import { nextHysteresis, type HysteresisState } from '../../../operators/phase-hysteresis.js';
import { hysteresisAfter, planResume } from '../../../engine/store/resume.js';
import { readRunMeta, RunStore } from '../../../engine/store/run-store.js';
import { readRunEvents, readRunLog } from '../../../streams/replay.js';

const step = (n: number): UnsequencedEvent => ({
  type: 'step',
  runId: 'x',
  step: n,
  time: 0,
  loss: 1,
  examplesPerSec: 1,
});
const snapshot = (n: number): UnsequencedEvent => ({
  type: 'snapshot',
  runId: 'x',
  step: n,
  time: 0,
  file: `snapshots/${n}.bin`,
  count: 1,
  size: 1,
  dim: 1,
  sampleMs: 1,
});
const assessment = (n: number, phase: Phase, rawPhase: Phase): UnsequencedEvent =>
  ({
    type: 'assessment',
    runId: 'x',
    step: n,
    time: 0,
    accuracy: 0,
    bumps: { none: 0, one: 1, many: 0 },
    r2: { x: 0, y: 0, mean: 0 },
    phase,
    rawPhase,
    evidence: {},
    embedding: [],
    labels: [],
    size: 1,
    samples: [],
  }) as UnsequencedEvent;

describe('resuming a stored run at a checkpoint', () => {
  let runsDir: string;
  beforeEach(() => {
    runsDir = mkdtempSync(join(tmpdir(), 'pw-resume-'));
  });
  afterEach(() => rmSync(runsDir, { recursive: true, force: true }));

  /** A run killed at step 14: snapshots every 5, the one at 10 not assessed yet. */
  const killedRun = () => {
    const store = RunStore.create({ runsDir, runId: 'k', backend: 'cpu', config: {} });
    for (let n = 1; n <= 14; n++) {
      store.append(step(n));
      if (n === 5) {
        store.append(snapshot(5));
        store.append(assessment(5, 'A', 'A'));
        store.append({
          type: 'phase',
          runId: 'k',
          step: 5,
          time: 0,
          from: null,
          to: 'A',
          evidence: {},
        });
      }
      if (n === 10) store.append(snapshot(10));
    }
    store.close('stopped', 14); // stands in for the kill: the lock is let go
    return store.dir;
  };

  it('plans without changing anything: what is dropped, what needs assessing, the phase state', () => {
    const dir = killedRun();
    const before = readFileSync(join(dir, 'events.jsonl'));
    const plan = planResume(dir, 10);
    expect(readFileSync(join(dir, 'events.jsonl')).equals(before)).to.equal(true);
    expect(plan).to.deep.include({
      step: 10,
      dropped: 5, // steps 11..14 and the run-end at 14
      lastLoggedStep: 10,
      snapshotAtStep: true,
      phase: 'A',
      hysteresis: { phase: 'A', candidate: null, streak: 0 },
      badLines: [],
    });
    expect(plan.unassessed.map((s) => s.step)).to.deep.equal([10]);
    expect(plan.phaseEventDue).to.equal(undefined);
    expect(() => planResume(dir, -1)).to.throw(
      /^checkpoint step must be an integer >= 0 \(got -1\)$/,
    );
  });

  it('drops the events after the checkpoint step, continuing seq above the highest ever written', () => {
    const dir = killedRun();
    const lastSeq = readRunLog(dir).lastSeq;
    const store = RunStore.open(dir, { resumeAt: 10 });
    expect(readRunEvents(dir).every((e) => e.step <= 10)).to.equal(true);
    const e = store.append(step(11));
    expect(e.seq).to.equal(lastSeq + 1);
    store.close('completed', 11);
    const steps = readRunEvents(dir)
      .filter((x) => x.type === 'step')
      .map((x) => x.step);
    expect(steps).to.deep.equal(Array.from({ length: 11 }, (_, i) => i + 1));
    // Killed again before writing anything: seq still continues above the old highest.
    const again = RunStore.open(dir, { resumeAt: 5 });
    expect(again.append(step(6)).seq).to.be.greaterThan(lastSeq + 2);
    again.close('completed', 6);
  });

  it('a run killed between its run-end and its meta resumes at that step with one run-end', () => {
    const dir = killedRun(); // its run-end is at step 14, the step of the checkpoint here
    expect(planResume(dir, 14)).to.deep.include({ dropped: 1, lastLoggedStep: 14 });
    const store = RunStore.open(dir, { resumeAt: 14 });
    expect(readRunEvents(dir).some((e) => e.type === 'run-end')).to.equal(false);
    store.close('completed', 14);
    expect(readRunEvents(dir).filter((e) => e.type === 'run-end')).to.have.length(1);
  });

  it('a resume killed right after dropping events still continues seq above them', () => {
    const dir = killedRun();
    const lastSeq = readRunLog(dir).lastSeq;
    const first = RunStore.open(dir, { resumeAt: 5 });
    // Killed here, before it wrote anything: stands in by letting go of the lock only.
    (first as unknown as { lock: { release(): void } }).lock.release();
    expect(readRunLog(dir).lastSeq).to.be.lessThan(lastSeq);
    expect(planResume(dir, 5).lastSeq).to.equal(lastSeq);
    const again = RunStore.open(dir, { resumeAt: 5 });
    expect(again.append(step(6)).seq).to.equal(lastSeq + 1);
    again.close('completed', 6);
  });

  it('a resume before the first checkpoint (step 0) keeps only run-start, not steps 1… twice', () => {
    const dir = killedRun();
    RunStore.open(dir, { resumeAt: 0 }).close('stopped', 0);
    expect(readRunEvents(dir).filter((e) => e.type === 'step')).to.deep.equal([]);
  });

  it('a failed open changes no file: a live writer, a bad resumeAt', async () => {
    const dir = killedRun();
    appendFileSync(join(dir, 'events.jsonl'), '{"type":"st'); // a torn tail it would cut
    const before = readFileSync(join(dir, 'events.jsonl'));
    const meta = readFileSync(join(dir, 'meta.json'));
    const holder = RunStore.open(dir); // now live in this process: cuts the torn tail
    const held = readFileSync(join(dir, 'events.jsonl'));
    expect(held.length).to.be.lessThan(before.length);
    expect(() => RunStore.open(dir, { resumeAt: 5 })).to.throw(/is being written/);
    expect(readFileSync(join(dir, 'events.jsonl')).equals(held)).to.equal(true);
    holder.close('stopped', 14);
    appendFileSync(join(dir, 'events.jsonl'), '{"type":"st');
    const torn = readFileSync(join(dir, 'events.jsonl'));
    const metaNow = readFileSync(join(dir, 'meta.json'));
    expect(() => RunStore.open(dir, { resumeAt: 1.5 })).to.throw(
      /^resumeAt must be an integer >= 0 \(got 1\.5\)$/,
    );
    expect(readFileSync(join(dir, 'events.jsonl')).equals(torn)).to.equal(true);
    expect(readFileSync(join(dir, 'meta.json')).equals(metaNow)).to.equal(true);
    expect(meta.length).to.be.greaterThan(0);
  });

  it('resumes a run with a garbage line in the middle, keeping the line and skipping it', () => {
    const dir = killedRun();
    const text = readFileSync(join(dir, 'events.jsonl'), 'utf8').split('\n');
    text.splice(3, 0, 'not json at all');
    writeFileSync(join(dir, 'events.jsonl'), text.join('\n'));
    const plan = planResume(dir, 10);
    expect(plan.badLines).to.deep.equal([{ line: 4, reason: 'not valid JSON' }]);
    const store = RunStore.open(dir, { resumeAt: 10 });
    store.close('completed', 10);
    expect(readFileSync(join(dir, 'events.jsonl'), 'utf8')).to.include('not json at all');
    expect(readRunLog(dir).bad).to.have.length(1);
    expect(readRunMeta(dir).status).to.equal('completed');
  });

  it('reports a confirmed phase change that no phase event records', () => {
    const store = RunStore.create({ runsDir, runId: 'p', backend: 'cpu', config: {} });
    store.append(snapshot(5));
    store.append(assessment(5, 'A', 'A'));
    store.append({
      type: 'phase',
      runId: 'p',
      step: 5,
      time: 0,
      from: null,
      to: 'A',
      evidence: {},
    });
    store.append(snapshot(10));
    store.append(assessment(10, 'A', 'B'));
    store.append(snapshot(15));
    store.append(assessment(15, 'B', 'B')); // killed before its phase event
    store.close('stopped', 15);
    const plan = planResume(store.dir, 15);
    expect(plan.phaseEventDue).to.deep.equal({ from: 'A', to: 'B', step: 15 });
    expect(plan.hysteresis).to.deep.equal({ phase: 'B', candidate: null, streak: 0 });
  });

  it('restores the hysteresis exactly as folding nextHysteresis over the raw phases', () => {
    const phases: Phase[] = ['A', 'B', 'C'];
    for (const confirm of [1, 2, 3]) {
      for (let trial = 0; trial < 200; trial++) {
        let state: HysteresisState = { phase: null, candidate: null, streak: 0 };
        const stored: AssessmentEvent[] = [];
        const n = 1 + (trial % 12);
        for (let i = 0; i < n; i++) {
          const raw = phases[(trial * 7 + i * i * 3 + (i >> 1)) % 3];
          state = nextHysteresis(state, raw, confirm);
          stored.push({ ...(assessment(i, state.phase!, raw) as AssessmentEvent), seq: i + 1 });
        }
        expect(hysteresisAfter(stored), `confirm ${confirm} trial ${trial}`).to.deep.equal(state);
      }
    }
  });
});
