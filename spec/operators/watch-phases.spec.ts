import { expect } from 'chai';
import { filter, firstValueFrom, from, map, toArray, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { watchPhases, type WatchPhasesOptions } from '../../operators/watch-phases.js';
import {
  assessmentFigures,
  type Assessment,
  type EventInput,
  type Phase,
  type Snapshot,
} from '../../streams/events.js';
import { fakeAssessment } from './fake-assessment.js';
import { noisySnapshot, syntheticRepresentation } from './synthetic-representation.js';

/** One 4×4 sample with its label: enough for an assessment event's thumbnail. */
const snap = (step: number): Snapshot => ({
  runId: 'r',
  step,
  size: 4,
  labels: new Float32Array([1, 2]),
  images: new Float32Array(16).fill(-1),
  activations: new Float32Array(1),
  dim: 1,
});

/** An event in a few characters: `x3:B` assessment, `m3` metric, `p3:A>B` phase. */
function code(e: EventInput): string {
  if (e.type === 'assessment') return `x${e.step}:${e.phase}`;
  if (e.type === 'metric') return `m${e.step}`;
  if (e.type === 'phase') return `p${e.step}:${e.from ?? '-'}>${e.to}`;
  return e.type;
}

/** The metric events of one assessment. */
const METRICS = Object.keys(assessmentFigures(fakeAssessment(0, 'A'))).length;

describe('watchPhases', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((a, e) => {
      expect(a).to.deep.equal(e);
    });
  });

  /** Snapshots 1, 2, 3, … every other frame, assessed in 2 frames to the raw phases given. */
  function watch(raw: Phase[], opts: WatchPhasesOptions = {}) {
    const cold = scheduler.createColdObservable.bind(scheduler);
    const values = Object.fromEntries(raw.map((_, i) => [String(i + 1), snap(i + 1)]));
    const src = cold(`-${raw.map((_, i) => `${i + 1}-`).join('')}|`, values);
    const assess = (s: Snapshot): Observable<Assessment> =>
      cold('--(a|)', { a: fakeAssessment(s.step, raw[s.step - 1]) });
    return src.pipe(watchPhases({ confirm: 2, ...opts, assess }));
  }

  it('emits a phase event each time the confirmed phase changes (hysteresis)', () => {
    scheduler.run(({ expectObservable }) => {
      // snapshots at frames 1, 3, 5, 7, 9; assessed 2 frames later; raw A B B C C, confirm 2
      const phases$ = watch(['A', 'B', 'B', 'C', 'C']).pipe(
        filter((e) => e.type === 'phase'),
        map(code),
      );
      expectObservable(phases$).toBe('---a---b---(c|)', {
        a: 'p1:->A',
        b: 'p3:A>B',
        c: 'p5:B>C',
      });
    });
  });

  it('turns each assessment into its assessment event and metrics, before its phase event', () => {
    const out: string[] = [];
    scheduler.run(() => {
      watch(['A', 'B', 'B']).subscribe((e) => out.push(`${scheduler.now()} ${code(e)}`));
    });
    const step = (frame: number, s: number, phase: Phase, change?: string) => [
      `${frame} x${s}:${phase}`,
      ...Array.from({ length: METRICS }, () => `${frame} m${s}`),
      ...(change ? [`${frame} ${change}`] : []),
    ];
    expect(METRICS).to.be.greaterThan(3);
    expect(out).to.deep.equal([
      ...step(3, 1, 'A', 'p1:->A'),
      ...step(5, 2, 'A'),
      ...step(7, 3, 'B', 'p3:A>B'),
    ]);
  });

  it("carries the snapshot's samples and the raw phase in the assessment event", () => {
    const events: EventInput[] = [];
    scheduler.run(() => {
      watch(['A', 'B']).subscribe((e) => events.push(e));
    });
    const second = events.find((e) => e.type === 'assessment' && e.step === 2);
    expect(second).to.include({ phase: 'A', rawPhase: 'B', size: 4 });
    expect(second && second.type === 'assessment' && second.labels).to.deep.equal([1, 2]);
    expect(second && second.type === 'assessment' && second.samples.length).to.equal(1);
  });

  it("resumes from a run's hysteresis: a challenger's streak is kept, no null → A again", () => {
    scheduler.run(({ expectObservable }) => {
      const phases$ = watch(['B', 'B'], {
        initial: { hysteresis: { phase: 'A', candidate: 'B', streak: 1 } },
      }).pipe(
        filter((e) => e.type === 'phase'),
        map(code),
      );
      expectObservable(phases$).toBe('---a-|', { a: 'p1:A>B' });
    });
  });

  it('re-emits a lost phase event first, and goes on from the phase it reached', () => {
    scheduler.run(({ expectObservable }) => {
      const phases$ = watch(['B', 'C', 'C'], {
        initial: {
          hysteresis: { phase: 'B', candidate: null, streak: 0 },
          phase: 'A',
          phaseEvent: { from: 'A', to: 'B', step: 0 },
        },
      }).pipe(
        filter((e) => e.type === 'phase'),
        map(code),
      );
      expectObservable(phases$).toBe('a------(b|)', { a: 'p0:A>B', b: 'p3:B>C' });
    });
  });

  it('starts phase events from the phase the run reached when none was lost', () => {
    scheduler.run(({ expectObservable }) => {
      const phases$ = watch(['A', 'A'], {
        initial: { hysteresis: { phase: 'A', candidate: null, streak: 0 } },
      }).pipe(filter((e) => e.type === 'phase'));
      expectObservable(phases$).toBe('-----|');
    });
  });

  it('checks its options when called, in one line', () => {
    expect(() => watchPhases({ confirm: 0 })).to.throw(/^confirm must be an integer >= 1/);
  });

  it('watches representation snapshots of any model by the generic rule, with real assessments', async () => {
    const specs = [{ name: 'x' }, { name: 'class', classes: 3 }];
    const at = (step: number, kind: 'noise' | 'scrambled' | 'ordered'): Snapshot => ({
      ...syntheticRepresentation(kind, specs, { seed: step }),
      step,
    });
    const nan = at(4, 'ordered');
    nan.activations[0] = NaN;
    const events = await firstValueFrom(
      from([
        at(1, 'noise'),
        at(2, 'scrambled'),
        at(3, 'scrambled'),
        nan,
        at(5, 'ordered'),
        at(6, 'ordered'),
      ]).pipe(watchPhases({ confirm: 2, embed: 'pca', seed: 1 }), toArray()),
    );
    const assessments = events.filter((e) => e.type === 'assessment');
    expect(assessments.map((e) => [e.step, e.rawPhase, e.phase])).to.deep.equal([
      [1, 'A', 'A'],
      [2, 'B', 'A'],
      [3, 'B', 'B'],
      [4, 'A', 'B'],
      [5, 'C', 'B'],
      [6, 'C', 'C'],
    ]);
    const first = assessments[0];
    expect(first.rule).to.equal('representation');
    expect(first.factors?.class).to.have.length(200);
    expect(first.labels).to.deep.equal([]);
    expect(first.embedding).to.have.length(600);
    expect(assessments[3].warning).to.match(/^phase not judged: activations hold a non-finite/);
    const phases = events.filter((e) => e.type === 'phase').map((e) => `${e.from ?? '-'}>${e.to}`);
    expect(phases).to.deep.equal(['->A', 'A>B', 'B>C']);
    const names = new Set(events.flatMap((e) => (e.type === 'metric' ? [e.name] : [])));
    expect([...names]).to.include.members([
      'phase/ordering',
      'evidence/structure',
      'evidence/r2/x',
    ]);
    expect([...names]).not.to.include('phase/one-bump');
    expect(
      events.some((e) => e.type === 'alert' && /step 4: phase not judged/.test(e.message)),
    ).to.equal(true);
  });

  it('emits the noise-level probes of a representation snapshot with its assessment', async () => {
    const events = await firstValueFrom(
      from([noisySnapshot()]).pipe(watchPhases({ embed: 'pca', seed: 1 }), toArray()),
    );
    const curves = events.filter((e) => e.type === 'curve');
    expect(curves.map((c) => [c.name, c.x])).to.deep.equal([
      ['noise-probe/class', [0, 10, 20, 40, 60, 80]],
      ['noise-probe/x', [0, 10, 20, 40, 60, 80]],
    ]);
    const names = events.flatMap((e) => (e.type === 'metric' ? [e.name] : []));
    expect(names).to.include.members([
      'noise-probe/class/peak',
      'noise-probe/class/peak-t',
      'noise-probe/class/ensemble',
      'noise-probe/x/peak',
    ]);
  });
});
