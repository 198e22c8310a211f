import { expect } from 'chai';
import { lastValueFrom, take, toArray } from 'rxjs';
import type { StepEvent } from '../../streams/events.js';
import { training } from '../../streams/training.js';
import type { Trainable } from '../../streams/training.js';
import type { Batch, Dataset } from '../../streams/events.js';

const size = 4;
function dataset(count = 10): Dataset & { rendered: number } {
  const labels = new Float32Array(count * 2);
  for (let i = 0; i < count; i++) {
    labels[2 * i] = i % size;
    labels[2 * i + 1] = Math.floor(i / size);
  }
  const d = {
    size,
    count,
    labels,
    rendered: 0,
    image(i: number): Float32Array {
      d.rendered++;
      return new Float32Array(size * size).fill(i);
    },
  };
  return d;
}

class FakeModel implements Trainable {
  calls = 0;
  seen: { images: Float32Array; labels: Float32Array; batch: number }[] = [];
  constructor(private readonly lossAt: (call: number) => number = () => 0.5) {}
  trainStep({ images, labels, batch }: Batch): number {
    this.calls++;
    this.seen.push({ images: images.slice(), labels: labels.slice(), batch });
    return this.lossAt(this.calls);
  }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('training', () => {
  it('is cold: nothing trains until subscribed', async () => {
    const m = new FakeModel();
    const events$ = training(m, dataset(), { runId: 'r', steps: 3 });
    await tick();
    await tick();
    expect(m.calls).to.equal(0);
    await lastValueFrom(events$);
    expect(m.calls).to.equal(3);
  });

  it('emits one step event per step, counting from startStep + 1, then completes', async () => {
    const m = new FakeModel((c) => 1 / c);
    const events = await lastValueFrom(
      training(m, dataset(), { runId: 'run-1', steps: 5, batchSize: 3, startStep: 10 }).pipe(
        toArray(),
      ),
    );
    expect(events.map((e) => e.step)).to.deep.equal([11, 12, 13, 14, 15]);
    const e = events[1] as StepEvent;
    expect(e.type).to.equal('step');
    expect(e.runId).to.equal('run-1');
    expect(e.loss).to.equal(0.5);
    expect(e.examplesPerSec).to.be.greaterThan(0);
    expect(e.time).to.be.closeTo(Date.now(), 5000);
    expect(m.seen[0].batch).to.equal(3);
  });

  it('hands the model images that match their labels', async () => {
    const m = new FakeModel();
    const d = dataset();
    await lastValueFrom(training(m, d, { runId: 'r', steps: 4, batchSize: 5, seed: 3 }));
    for (const { images, labels, batch } of m.seen) {
      expect(images.length).to.equal(batch * size * size);
      for (let b = 0; b < batch; b++) {
        const idx = images[b * size * size];
        expect(labels[2 * b]).to.equal(d.labels[2 * idx]);
        expect(labels[2 * b + 1]).to.equal(d.labels[2 * idx + 1]);
      }
    }
    // Small datasets are rendered once per image and cached.
    expect(d.rendered).to.be.at.most(d.count);
  });

  it('draws the same batches for the same seed', async () => {
    const a = new FakeModel();
    const b = new FakeModel();
    await lastValueFrom(training(a, dataset(), { runId: 'r', steps: 3, batchSize: 4, seed: 9 }));
    await lastValueFrom(training(b, dataset(), { runId: 'r', steps: 3, batchSize: 4, seed: 9 }));
    expect(b.seen.map((s) => Array.from(s.labels))).to.deep.equal(
      a.seen.map((s) => Array.from(s.labels)),
    );
  });

  it('stops promptly on unsubscribe', async () => {
    const m = new FakeModel();
    const last = await lastValueFrom(
      training(m, dataset(), { runId: 'r', steps: 1000 }).pipe(take(2)),
    );
    expect(last.step).to.equal(2);
    for (let i = 0; i < 10; i++) await tick();
    expect(m.calls).to.equal(2);
  });

  it('keeps timers running between steps', async () => {
    const m = new FakeModel();
    let fired = false;
    setTimeout(() => (fired = true), 0);
    const sub = training(m, dataset(), { runId: 'r', steps: 100000 }).subscribe();
    await new Promise((resolve) => setTimeout(resolve, 20));
    sub.unsubscribe();
    expect(fired).to.equal(true);
    expect(m.calls).to.be.greaterThan(0).and.lessThan(100000);
  });

  it('from startStep, draws the batches an uninterrupted run of the seed draws after it', async () => {
    const whole = new FakeModel();
    await lastValueFrom(training(whole, dataset(), { steps: 8, batchSize: 3, seed: 9 }));
    const resumed = new FakeModel();
    await lastValueFrom(
      training(resumed, dataset(), { steps: 3, batchSize: 3, seed: 9, startStep: 5 }),
    );
    expect(resumed.seen).to.deep.equal(whole.seen.slice(5));
  });

  it('errors with one line when the loss is not finite', async () => {
    const m = new FakeModel((c) => (c === 3 ? NaN : 0.1));
    let message = '';
    try {
      await lastValueFrom(training(m, dataset(), { runId: 'r', steps: 10, startStep: 120 }));
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).to.equal(
      'training diverged: loss is NaN at step 123 (lower the learning rate)',
    );
    expect(m.calls).to.equal(3);
  });

  it('awaits an async trainStep and passes its errors on', async () => {
    let calls = 0;
    const model: Trainable = {
      trainStep: async () => {
        calls++;
        if (calls === 2) throw new Error('boom');
        return 0.25;
      },
    };
    const seen: number[] = [];
    let message = '';
    await new Promise<void>((resolve) =>
      training(model, dataset(), { runId: 'r', steps: 5 }).subscribe({
        next: (e) => seen.push(e.loss),
        error: (err: Error) => {
          message = err.message;
          resolve();
        },
      }),
    );
    expect(seen).to.deep.equal([0.25]);
    expect(message).to.equal('boom');
  });

  it('rejects bad options with one-line errors naming the field', () => {
    const m = new FakeModel();
    expect(() => training(m, dataset(), { runId: 'r', steps: -1 })).to.throw(
      /^training steps must be a non-negative integer \(got -1\)$/,
    );
    expect(() => training(m, dataset(), { runId: 'r', steps: 1, batchSize: 0 })).to.throw(
      /^training batchSize/,
    );
    expect(() => training(m, dataset(), { runId: '', steps: 1 })).to.throw(/^training runId/);
  });
});
