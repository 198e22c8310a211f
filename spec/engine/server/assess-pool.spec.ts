import { expect } from 'chai';
import { threadId } from 'node:worker_threads';
import { AssessPool } from '../../../engine/server/assess-pool.js';
import { assessSnapshot } from '../../../operators/metrics/assess-snapshot.js';
import type { Snapshot } from '../../../streams/events.js';
import { bumpSnapshot } from './ingest-helpers.js';

const snapshot = (step: number, n = 60, size = 10): Snapshot => {
  const s = bumpSnapshot(n, size, step);
  return { runId: 'r', step, size, ...s } as unknown as Snapshot;
};

describe('engine/server/assess-pool', () => {
  let pool: AssessPool | undefined;
  afterEach(() => pool?.close());

  it('assesses on a worker thread, with the same result as assessSnapshot here', async () => {
    pool = new AssessPool(1);
    const s = snapshot(1);
    const there = await pool.assess(s, { embed: 'pca', seed: 3 });
    expect(pool.lastThreadId).to.be.greaterThan(threadId);
    const here = await assessSnapshot(s, { embed: 'pca', seed: 3 });
    expect(JSON.parse(JSON.stringify(there))).to.deep.equal(JSON.parse(JSON.stringify(here)));
    expect(pool.busy).to.equal(0);
  });

  it('runs jobs beyond its workers in turn, each getting its own answer; errors in one line', async () => {
    pool = new AssessPool(2);
    const steps = [1, 2, 3, 4, 5];
    const jobs = steps.map((step) => pool!.assess(snapshot(step), { embed: 'pca', seed: 1 }));
    expect(pool.busy).to.equal(5);
    const got = await Promise.all(jobs);
    expect(got.map((a) => a.step)).to.deep.equal(steps);
    expect(pool.busy).to.equal(0);
    const bad = { ...snapshot(6), labels: new Float32Array(3) } as Snapshot;
    const err = await pool.assess(bad, { embed: 'pca' }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).to.be.a('string').and.not.include('\n');
    // The pool goes on after a failed job.
    expect((await pool.assess(snapshot(7), { embed: 'pca' })).step).to.equal(7);
  });

  it('refuses a size that is not a positive integer', () => {
    expect(() => new AssessPool(0)).to.throw(
      /^assessment workers must be an integer >= 1 \(got 0\)$/,
    );
  });
});
