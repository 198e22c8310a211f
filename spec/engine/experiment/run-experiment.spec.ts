import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstValueFrom, lastValueFrom, Subject, take, toArray } from 'rxjs';
import { filter } from 'rxjs/operators';
import type { RunEvent } from '../../../streams/events.js';
import { readRunEvents, replay } from '../../../streams/replay.js';
import { runExperiment } from '../../../engine/experiment/run-experiment.js';
import { readRunMeta } from '../../../engine/store/run-store.js';

const TINY = {
  backend: 'cpu',
  size: 8,
  widths: [4, 8, 8],
  dx: 1,
  steps: 6,
  snapshotEvery: 3,
  samples: 24,
  batchSize: 8,
  ddimSteps: 2,
  timesteps: 10,
  confirm: 1,
};

describe('runExperiment', () => {
  let runsDir: string;
  beforeEach(() => {
    runsDir = mkdtempSync(join(tmpdir(), 'pw-exp-'));
  });
  afterEach(() => rmSync(runsDir, { recursive: true, force: true }));

  it('trains, snapshots, assesses and stores; replay gives back the same events', async () => {
    await tf.setBackend('cpu');
    const before = tf.memory().numTensors;
    const hub = new Subject<RunEvent>();
    const published: RunEvent[] = [];
    hub.subscribe((e) => published.push(e));
    const events = await lastValueFrom(
      runExperiment({ ...TINY, runId: 'e2e' }, { runsDir, hub }).pipe(toArray()),
    );
    const types = events.map((e) => e.type);
    expect(types[0]).to.equal('run-start');
    expect(types.filter((t) => t === 'step')).to.have.length(6);
    // every due snapshot is taken, none skipped
    const snapshots = events.filter((e) => e.type === 'snapshot').map((e) => e.step);
    expect(snapshots).to.deep.equal([3, 6]);
    // the assessment's figures are also generic metrics
    const metrics = events.filter((e) => e.type === 'metric').map((e) => e.name);
    expect(metrics).to.include.members(['phase/accuracy', 'phase/r2x', 'phase/one-bump']);
    expect(types.filter((t) => t === 'assessment')).to.have.length(snapshots.length);
    expect(types).to.include('phase');
    expect(events.map((e) => e.seq)).to.deep.equal(events.map((_, i) => i + 1));

    const stored = await lastValueFrom(replay(join(runsDir, 'e2e')).pipe(toArray()));
    expect(stored.slice(0, events.length)).to.deep.equal(events);
    expect(stored.at(-1)).to.include({ type: 'run-end', status: 'completed', step: 6 });
    expect(published).to.deep.equal(stored);

    const meta = readRunMeta(join(runsDir, 'e2e'));
    expect(meta).to.include({ status: 'completed', backend: 'cpu' });
    expect(existsSync(join(runsDir, 'e2e', 'snapshots', '3.bin'))).to.equal(true);
    const last = snapshots[snapshots.length - 1];
    expect(existsSync(join(runsDir, 'e2e', 'checkpoints', `${last}`, 'weights.bin'))).to.equal(
      true,
    );
    const a = events.find((e) => e.type === 'assessment');
    if (a?.type !== 'assessment') throw new Error('no assessment');
    expect(a.embedding).to.have.length(24 * 3);
    expect(a.samples[0].pixels).to.have.length(64);
    expect(a.evidence).to.have.property('oneBump');
    expect(tf.memory().numTensors).to.equal(before);
  });

  it('stops cleanly on unsubscribe and marks the run stopped', async () => {
    const run$ = runExperiment({ ...TINY, steps: 1000, runId: 'stop' }, { runsDir });
    await firstValueFrom(run$.pipe(filter((e) => e.type === 'step' && e.step === 2)));
    const meta = readRunMeta(join(runsDir, 'stop'));
    expect(meta.status).to.equal('stopped');
    expect(meta.lastStep).to.be.lessThan(10);
  });

  it('resumes a stopped run from its newest checkpoint, continuing seq and step', async () => {
    const first = runExperiment({ ...TINY, steps: 1000, runId: 'res' }, { runsDir });
    const snap = await firstValueFrom(first.pipe(filter((e) => e.type === 'snapshot')));
    const dir = join(runsDir, 'res');
    expect(readRunMeta(dir).status).to.equal('stopped');
    const lastSeq = readRunEvents(dir).at(-1)?.seq ?? 0;
    const again = await lastValueFrom(
      runExperiment({}, { resume: dir }).pipe(
        filter((e) => e.type === 'run-start' || e.type === 'step'),
        take(2),
        toArray(),
      ),
    );
    expect(again[0]).to.include({ type: 'run-start', seq: lastSeq + 1 });
    expect(again[0].step).to.be.at.least(snap.step);
    expect(again[1]).to.include({ type: 'step', step: again[0].step + 1 });
  });

  it('resumes without duplicates: later steps dropped, every snapshot assessed, one phase sequence', async () => {
    const dir = join(runsDir, 'again');
    // stop two steps past the second snapshot's checkpoint
    await firstValueFrom(
      runExperiment({ ...TINY, steps: 12, runId: 'again' }, { runsDir }).pipe(
        filter((e) => e.type === 'step' && e.step === 8),
      ),
    );
    expect(readRunMeta(dir).status).to.equal('stopped');
    await lastValueFrom(runExperiment({}, { resume: dir }));
    const events = readRunEvents(dir);
    const steps = events.filter((e) => e.type === 'step').map((e) => e.step);
    expect(steps).to.deep.equal([...Array(12).keys()].map((i) => i + 1));
    const seqs = events.map((e) => e.seq);
    expect(seqs.every((q, i) => i === 0 || q > seqs[i - 1])).to.equal(true);
    const snaps = events.filter((e) => e.type === 'snapshot').map((e) => e.step);
    const assessed = events.filter((e) => e.type === 'assessment').map((e) => e.step);
    expect(snaps).to.deep.equal([3, 6, 9, 12]);
    expect(assessed).to.deep.equal(snaps);
    const phases = events.filter((e) => e.type === 'phase');
    expect(phases.filter((e) => e.type === 'phase' && e.from === null)).to.have.length(1);
    expect(readRunMeta(dir)).to.include({ status: 'completed', lastStep: 12 });
  });

  it('resumes bit-exactly: every loss after the checkpoint equals the uninterrupted run’s', async () => {
    const cfg = { ...TINY, steps: 30, snapshotEvery: 10, seed: 7 };
    const lossesOf = (dir: string): [number, number][] =>
      readRunEvents(dir)
        .filter((e) => e.type === 'step')
        .map((e) => [e.step, (e as { loss: number }).loss]);
    await lastValueFrom(runExperiment({ ...cfg, runId: 'whole' }, { runsDir }));
    // Stopped at step 25: the newest checkpoint holds step 20, so 21… are trained again.
    await firstValueFrom(
      runExperiment({ ...cfg, runId: 'cut' }, { runsDir }).pipe(
        filter((e) => e.type === 'step' && e.step === 25),
      ),
    );
    expect(readRunMeta(join(runsDir, 'cut'))).to.include({ status: 'stopped' });
    await lastValueFrom(runExperiment({}, { resume: join(runsDir, 'cut') }));
    const whole = lossesOf(join(runsDir, 'whole'));
    const resumed = lossesOf(join(runsDir, 'cut'));
    expect(whole.map(([step]) => step)).to.deep.equal([...Array(30).keys()].map((i) => i + 1));
    expect(resumed).to.deep.equal(whole);
  });

  it('fails with the config error before creating a run', async () => {
    let message = '';
    await lastValueFrom(runExperiment({ dx: -1 }, { runsDir })).catch((e: Error) => {
      message = e.message;
    });
    expect(message).to.match(/^dx must be a number > 0/);
  });
});
