import { expect } from 'chai';
import { threadId } from 'node:worker_threads';
import { moduleWorker } from '../../../operators/metrics/module-worker.js';
import type { UmapJob, UmapReply } from '../../../operators/metrics/umap-worker.js';

describe('operators/metrics/module-worker', () => {
  it('runs a TypeScript module beside the caller on a worker thread (tsx registered there)', async () => {
    const from = new URL('../../../operators/metrics/umap-off-thread.ts', import.meta.url).href;
    const w = moduleWorker('./umap-worker', from);
    try {
      const data = Float32Array.from({ length: 40 * 3 }, (_, i) => Math.sin(i * 1.7));
      const job: UmapJob = { id: 7, data, dim: 3, opts: { seed: 1, nNeighbors: 5 } };
      const reply = await new Promise<UmapReply>((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
        w.postMessage(job);
      });
      expect(reply.id).to.equal(7);
      expect('y' in reply && reply.y.length % 40).to.equal(0);
      expect('y' in reply && reply.y.every(Number.isFinite)).to.equal(true);
      expect(w.threadId).to.not.equal(threadId);
    } finally {
      await w.terminate();
    }
  });

  it('a module that is not there: the worker ends with an error naming it', async () => {
    const w = moduleWorker('./no-such-module', import.meta.url);
    const err = await new Promise<Error>((resolve) => w.once('error', resolve));
    expect(err.message).to.match(/no-such-module/);
  });
});
