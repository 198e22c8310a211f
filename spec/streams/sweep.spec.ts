import { expect } from 'chai';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finalize, lastValueFrom, Observable, toArray } from 'rxjs';
import type { RunEvent } from '../../streams/events.js';
import { readRunEvents } from '../../streams/replay.js';
import {
  gridPoints,
  pointKey,
  runsDirLedger,
  sweep,
  sweepRunId,
  type SweepEvent,
  type SweepJob,
  type SweepPoint,
} from '../../streams/sweep.js';
import fakeJob from '../engine/experiment/sweep/fake-job.js';

/** Runs of a merged stream that were live at once, at most (between their first and last event). */
function maxOverlap(events: SweepEvent[]): number {
  const live = new Set<string>();
  const ends = new Map<string, number>();
  events.forEach((e, i) => ends.set(e.runId, i));
  let most = 0;
  events.forEach((e, i) => {
    live.add(e.runId);
    most = Math.max(most, live.size);
    if (ends.get(e.runId) === i) live.delete(e.runId);
  });
  return most;
}

describe('sweep', () => {
  let runsDir: string;
  beforeEach(() => {
    runsDir = mkdtempSync(join(tmpdir(), 'pw-sweep-'));
  });
  afterEach(() => rmSync(runsDir, { recursive: true, force: true }));

  it('gridPoints is the cartesian product, first key slowest; keys and runIds name the point', () => {
    expect(gridPoints({ dx: [0.5, 1], seed: [1, 2] })).to.deep.equal([
      { dx: 0.5, seed: 1 },
      { dx: 0.5, seed: 2 },
      { dx: 1, seed: 1 },
      { dx: 1, seed: 2 },
    ]);
    expect(pointKey({ dx: 0.5, enc: 'standard' })).to.equal('dx=0.5,enc=standard');
    expect(sweepRunId('density', { dx: 0.25, seed: 3 })).to.equal('density-dx0.25_seed3');
    expect(sweepRunId('s', { label: 'a b/c' })).to.equal('s-labela-b-c');
    expect(sweepRunId('s', { v: 'x'.repeat(300) })).to.have.length.at.most(128);
    expect(() => gridPoints({ dx: [] })).to.throw(/^sweep grid dx must be a non-empty array/);
  });

  it('respects concurrency, and every event of every run arrives in its run order', async () => {
    let active = 0;
    let most = 0;
    const grid = gridPoints({ n: [6], i: [1, 2, 3, 4, 5] });
    const events = await lastValueFrom(
      sweep(
        grid,
        (p, job) => {
          active++;
          most = Math.max(most, active);
          return fakeJob({ ...p, every: 3 }, job).pipe(finalize(() => active--));
        },
        { concurrency: 2, runsDir, name: 'c' },
      ).pipe(toArray()),
    );
    expect(most).to.equal(2);
    expect(maxOverlap(events)).to.equal(2);
    const byRun = new Map<string, SweepEvent[]>();
    for (const e of events) byRun.set(e.runId, [...(byRun.get(e.runId) ?? []), e]);
    expect([...byRun.keys()].sort()).to.deep.equal(grid.map((p) => sweepRunId('c', p)).sort());
    for (const [runId, list] of byRun) {
      // run-start, 6 metrics, run-end; seq 1.. in order, and equal to what is stored
      expect(list.map((e) => e.seq)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(list.map((e) => e.type)[7]).to.equal('run-end');
      expect(readRunEvents(join(runsDir, runId))).to.deep.equal(list);
    }
  });

  it('isolates a failing run: one error alert with its runId, the others complete', async () => {
    const grid: SweepPoint[] = [{ k: 'a' }, { k: 'bad', failAt: 2 }, { k: 'c' }];
    const events = await lastValueFrom(
      sweep(grid, fakeJob, { concurrency: 3, runsDir, name: 'f' }).pipe(toArray()),
    );
    const alerts = events.filter((e) => e.type === 'alert');
    expect(alerts).to.have.length(1);
    expect(alerts[0]).to.include({ level: 'error', runId: 'f-kbad_failAt2', step: 2 });
    expect(alerts[0].type === 'alert' && alerts[0].message).to.match(
      /f-kbad_failAt2 .*failed: boom at 2/,
    );
    const ends = events.flatMap((e) => (e.type === 'run-end' ? [[e.runId, e.status]] : []));
    expect(Object.fromEntries(ends)).to.deep.equal({
      'f-ka': 'completed',
      'f-kbad_failAt2': 'failed',
      'f-kc': 'completed',
    });
  });

  it('resumes: finished runs are replayed from disk, not run again; a failed one is retried under a new id', async () => {
    const grid: SweepPoint[] = [{ k: 'a' }, { k: 'b' }];
    let failB = true;
    const started: string[] = [];
    const make = (p: SweepPoint, job: SweepJob): Observable<RunEvent> => {
      started.push(job.runId);
      return fakeJob(p.k === 'b' && failB ? { ...p, failAt: 1 } : p, job);
    };
    const first = await lastValueFrom(sweep(grid, make, { runsDir, name: 'r' }).pipe(toArray()));
    expect(first.some((e) => e.type === 'alert')).to.equal(true);
    failB = false;
    const second = await lastValueFrom(sweep(grid, make, { runsDir, name: 'r' }).pipe(toArray()));
    expect(started).to.deep.equal(['r-ka', 'r-kb', 'r-kb-r2']);
    // a's events are the stored ones, replayed
    expect(second.filter((e) => e.runId === 'r-ka')).to.deep.equal(
      first.filter((e) => e.runId === 'r-ka'),
    );
    expect(second.filter((e) => e.runId === 'r-kb-r2').at(-1)).to.include({
      type: 'run-end',
      status: 'completed',
    });
    const third = await lastValueFrom(
      sweep(grid, make, { runsDir, name: 'r', replayFinished: false }).pipe(toArray()),
    );
    expect(third).to.deep.equal([]);
    expect(started).to.have.length(3);
    expect(readdirSync(runsDir).sort()).to.deep.equal(['r-ka', 'r-kb', 'r-kb-r2']);
    expect(await runsDirLedger(runsDir).claim('r-kb')).to.deep.equal({
      done: true,
      runId: 'r-kb-r2',
    });
    expect(await runsDirLedger(runsDir).claim('r-kz')).to.deep.equal({
      done: false,
      runId: 'r-kz',
    });
  });

  it('takes any backend (the interface a queue would implement) and publishes events to a hub', async () => {
    const seen: string[] = [];
    const published: RunEvent[] = [];
    const backend = {
      run: (job: SweepJob) => {
        seen.push(job.key);
        return fakeJob({ n: 1 }, job);
      },
    };
    const events = await lastValueFrom(
      sweep([{ a: 1 }, { a: 2 }], backend, {
        runsDir,
        context: { base: true },
        hub: { next: (e) => published.push(e) },
      }).pipe(toArray()),
    );
    expect(seen).to.deep.equal(['a=1', 'a=2']);
    expect(published).to.deep.equal(events);
  });

  it('rejects bad arguments in one line', () => {
    expect(() => sweep([{ a: 1 }], fakeJob, { concurrency: 0 })).to.throw(
      /^sweep concurrency must be a positive integer \(got 0\)$/,
    );
    expect(() => sweep([{ a: 1 }, { a: 1 }], fakeJob)).to.throw(
      /^sweep grid has the point a=1 twice$/,
    );
    expect(() => sweep([{ a: 1 }], fakeJob, { name: '../x' })).to.throw(/^sweep name must be/);
    expect(() => sweep({} as never, fakeJob)).to.throw(/^sweep grid must be an array/);
  });
});
