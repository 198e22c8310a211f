import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, NEVER, of, concat, throwError, toArray, Subject, tap } from 'rxjs';
import { record } from '../../../engine/store/record.js';
import { readRunMeta, RunStore } from '../../../engine/store/run-store.js';
import type { EventInput, RunEvent } from '../../../streams/events.js';
import { readRunEvents } from '../../../streams/replay.js';

const metric = (name: string, value: number, step: number): EventInput => ({
  type: 'metric',
  name,
  value,
  step,
});

describe('record', () => {
  let runsDir: string;
  beforeEach(() => {
    runsDir = mkdtempSync(join(tmpdir(), 'pw-record-'));
  });
  afterEach(() => rmSync(runsDir, { recursive: true, force: true }));

  const create = (runId: string, hub?: Subject<RunEvent>) =>
    RunStore.create({
      runsDir,
      runId,
      name: 'my run',
      tags: ['a'],
      backend: 'cpu',
      config: { k: 1 },
      hub,
    });

  it('stores any event stream: run-start, each event stamped, run-end completed', async () => {
    const hub = new Subject<RunEvent>();
    const seen: RunEvent[] = [];
    hub.subscribe((e) => seen.push(e));
    const store = create('ok', hub);
    const out = await lastValueFrom(
      of(metric('custom/x', 0.5, 3), {
        type: 'curve',
        step: 3,
        name: 'c',
        x: [0, 1],
        y: [1, 2],
      } as EventInput).pipe(record(store), toArray()),
    );
    expect(out.map((e) => e.type)).to.deep.equal(['run-start', 'metric', 'curve', 'run-end']);
    expect(out.map((e) => e.seq)).to.deep.equal([1, 2, 3, 4]);
    expect(out[1]).to.include({ runId: 'ok', name: 'custom/x', value: 0.5, step: 3 });
    expect(out[3]).to.include({ status: 'completed', step: 3 });
    expect(readRunEvents(join(runsDir, 'ok'))).to.deep.equal(out);
    expect(seen).to.deep.equal(out);
    const meta = readRunMeta(join(runsDir, 'ok'));
    expect(meta).to.include({ status: 'completed', name: 'my run', eventsVersion: 2 });
    expect(meta.tags).to.deep.equal(['a']);
  });

  it('marks a run failed with the error of a user operator, and passes the error on', async () => {
    const store = create('bad');
    let message = '';
    await lastValueFrom(
      concat(
        of(metric('m', 1, 1)),
        throwError(() => new Error('my operator broke')),
      ).pipe(record(store)),
    ).catch((e: Error) => (message = e.message));
    expect(message).to.equal('my operator broke');
    const events = readRunEvents(join(runsDir, 'bad'));
    expect(events.at(-1)).to.include({
      type: 'run-end',
      status: 'failed',
      error: 'my operator broke',
    });
    expect(readRunMeta(join(runsDir, 'bad'))).to.include({
      status: 'failed',
      error: 'my operator broke',
    });
  });

  it('marks a run stopped on unsubscribe', () => {
    const store = create('stop');
    const sub = NEVER.pipe(record(store)).subscribe();
    sub.unsubscribe();
    expect(readRunMeta(join(runsDir, 'stop')).status).to.equal('stopped');
    expect(readRunEvents(join(runsDir, 'stop')).map((e) => e.type)).to.deep.equal([
      'run-start',
      'run-end',
    ]);
  });

  it('marks a run failed, not stopped, when a consumer downstream throws (opts.failure)', () => {
    const store = create('downstream');
    let failure: unknown;
    const source = new Subject<EventInput>();
    source
      .pipe(
        record(store, { failure: () => failure }),
        tap((e) => {
          if (e.type === 'metric' && e.step === 2) throw new Error('consumer broke at 2');
        }),
      )
      .subscribe({ error: (err: unknown) => (failure = err) });
    source.next(metric('m', 1, 1));
    source.next(metric('m', 1, 2));
    expect(source.observed, 'unsubscribed').to.equal(false);
    expect(readRunMeta(join(runsDir, 'downstream'))).to.include({
      status: 'failed',
      error: 'consumer broke at 2',
    });
    expect(readRunEvents(join(runsDir, 'downstream')).map((e) => e.type)).to.deep.equal([
      'run-start',
      'metric',
      'metric',
      'run-end',
    ]);
  });

  it('waits for a failure() promise: failed with what it resolves to, stopped on undefined', async () => {
    let decide!: (err: unknown) => void;
    const failed = create('later');
    NEVER.pipe(record(failed, { failure: () => new Promise((r) => (decide = r)) }))
      .subscribe()
      .unsubscribe();
    expect(readRunMeta(join(runsDir, 'later')).status).to.equal('running');
    decide(new Error('the script rejected'));
    await Promise.resolve();
    expect(readRunMeta(join(runsDir, 'later'))).to.include({
      status: 'failed',
      error: 'the script rejected',
    });
    const stopped = create('fine');
    NEVER.pipe(record(stopped, { failure: () => Promise.resolve(undefined) }))
      .subscribe()
      .unsubscribe();
    await Promise.resolve();
    expect(readRunMeta(join(runsDir, 'fine')).status).to.equal('stopped');
  });

  it('ends the run when opts.signal aborts, as an unsubscribe: downstream completes', () => {
    const abort = new AbortController();
    const failure = new Error('the script failed');
    const seen: string[] = [];
    NEVER.pipe(
      record(create('aborted'), { signal: abort.signal, failure: () => failure }),
    ).subscribe({
      next: (e) => seen.push(e.type),
      error: (err: Error) => seen.push(`error: ${err.message}`),
    });
    abort.abort();
    expect(seen).to.deep.equal(['run-start', 'run-end', 'error: the script failed']);
    expect(readRunMeta(join(runsDir, 'aborted'))).to.include({
      status: 'failed',
      error: 'the script failed',
    });
    const late = new AbortController();
    late.abort();
    const done: string[] = [];
    NEVER.pipe(record(create('pre'), { signal: late.signal })).subscribe({
      next: (e) => done.push(e.type),
      complete: () => done.push('complete'),
    });
    expect(done).to.deep.equal(['run-start', 'run-end', 'complete']);
    expect(readRunMeta(join(runsDir, 'pre')).status).to.equal('stopped');
  });
});
