import { expect } from 'chai';
import { umapEmbed } from '../../../operators/metrics/umap-embed.js';
import {
  umapEmbedOffThread,
  umapWorkerRunning,
} from '../../../operators/metrics/umap-off-thread.js';
import { mulberry32 } from '../../../streams/mulberry32.js';

function points(n: number, dim: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  return Float32Array.from({ length: n * dim }, () => rand() * 2 - 1);
}

describe('umapEmbedOffThread', function () {
  this.timeout(60_000);

  it("gives umapEmbed's output exactly, computed on the worker thread", async () => {
    const data = points(80, 6, 1);
    const off = await umapEmbedOffThread(data, 6, { seed: 3, nEpochs: 60 });
    expect(umapWorkerRunning(), 'the worker served it').to.equal(true);
    expect(Array.from(off)).to.deep.equal(Array.from(umapEmbed(data, 6, { seed: 3, nEpochs: 60 })));
  });

  it('leaves the main thread free while it runs', async () => {
    const data = points(200, 16, 2);
    let ticks = 0;
    let running = true;
    const tick = (): void => {
      ticks++;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    await umapEmbedOffThread(data, 16, { seed: 1, nEpochs: 300 });
    running = false;
    // On this thread the event loop would turn once per 20 ms slice of optimisation (a few
    // dozen times); beside a worker it turns freely.
    expect(ticks).to.be.greaterThan(500);
  });

  it('rejects bad options with the one-line error umapEmbed gives', async () => {
    let message = '';
    try {
      await umapEmbedOffThread(points(20, 4, 3), 4, { nNeighbors: 1 });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).to.equal('nNeighbors must be an integer >= 2 (got 1)');
  });
});
