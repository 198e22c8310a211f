import { expect } from 'chai';
import { Subject } from 'rxjs';
import { frozenProbe, toGreyLevels } from '../../operators/frozen-probe.js';
import type { EventInput, Snapshot } from '../../streams/events.js';
import { Gate } from '../../streams/gate.js';
import { fakeDiva } from './diva-fake.js';

const snap = (step: number): Snapshot => ({
  runId: 'r',
  step,
  size: 16,
  labels: new Float32Array(0),
  images: new Float32Array(0),
  activations: new Float32Array(0),
  dim: 0,
});
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('frozenProbe', () => {
  it('holds the gate from each arrival until its probe is done, one probe at a time, in order', async () => {
    const { model, frozen, disposed } = fakeDiva({ size: 16 });
    const gate = new Gate(1);
    const finish: (() => void)[] = [];
    const out: EventInput[] = [];
    const snaps = new Subject<Snapshot>();
    snaps
      .pipe(
        frozenProbe(
          model,
          (m, s) =>
            new Promise((resolve) =>
              finish.push(() =>
                resolve([{ type: 'metric', name: 'x', value: m.step, step: s.step }]),
              ),
            ),
          { gate },
        ),
      )
      .subscribe((e) => out.push(e));
    model.step = 2;
    snaps.next(snap(2));
    snaps.next(snap(4)); // arrives while 2 is probed: gate held for both
    expect(gate.closed).to.equal(true);
    await tick();
    expect(frozen).to.deep.equal([2]);
    model.step = 4; // (a test shortcut: the gate holds real training at 2)
    finish[0]();
    await tick();
    await tick();
    expect(out.map((e) => e.step)).to.deep.equal([2]);
    expect(disposed).to.deep.equal([2]);
    expect(gate.closed).to.equal(true); // 4 still pending
    await tick();
    expect(frozen).to.deep.equal([2, 4]);
    finish[1]();
    await tick();
    await tick();
    expect(out.map((e) => e.step)).to.deep.equal([2, 4]);
    expect(gate.closed).to.equal(false);
    expect(out.every((e) => e.type === 'metric' && e.tags === undefined)).to.equal(true);
  });

  it('tags metrics with weightsStep when training moved on, and disposes on error', async () => {
    const { model, disposed } = fakeDiva({ size: 16 });
    model.step = 7;
    const snaps = new Subject<Snapshot>();
    const out: EventInput[] = [];
    let error: Error | undefined;
    const gate = new Gate(1);
    snaps
      .pipe(
        frozenProbe(
          model,
          async (_m, s) => {
            if (s.step === 9) throw new Error('probe failed');
            return [{ type: 'metric', name: 'x', value: 1, step: s.step }];
          },
          { gate },
        ),
      )
      .subscribe({ next: (e) => out.push(e), error: (e: Error) => (error = e) });
    snaps.next(snap(5));
    await tick();
    await tick();
    expect(out[0]).to.deep.include({ step: 5, tags: { weightsStep: '7' } });
    snaps.next(snap(9));
    await tick();
    await tick();
    expect(error?.message).to.equal('probe failed');
    expect(disposed).to.deep.equal([7, 7]);
    expect(gate.closed).to.equal(false);
  });

  it('lets the gate go on unsubscribe', async () => {
    const { model } = fakeDiva({ size: 16 });
    const gate = new Gate(1);
    const snaps = new Subject<Snapshot>();
    const sub = snaps
      .pipe(frozenProbe(model, () => new Promise(() => undefined), { gate }))
      .subscribe();
    snaps.next(snap(1));
    expect(gate.closed).to.equal(true);
    sub.unsubscribe();
    expect(gate.closed).to.equal(false);
  });

  it('maps [-1, 1] to grey levels, clamping', () => {
    expect(toGreyLevels(Float32Array.of(-1, 0, 1, 2))).to.deep.equal([0, 128, 255, 255]);
  });
});
