import { expect } from 'chai';
import { Gate } from '../../streams/gate.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('Gate', () => {
  it('is open below its limit and closes at it', async () => {
    const g = new Gate(2);
    expect(g.ready()).to.equal(undefined);
    g.enter();
    expect(g.ready()).to.equal(undefined);
    g.enter();
    let open = false;
    void g.ready()?.then(() => (open = true));
    await tick();
    expect(open).to.equal(false);
    g.leave();
    await tick();
    expect(open).to.equal(true);
  });

  it('holds while paused, whatever the queue, until every pause is released', async () => {
    const g = new Gate(5);
    const r1 = g.pause();
    const r2 = g.pause();
    let open = false;
    void g.ready()?.then(() => (open = true));
    r1();
    r1(); // a second call does nothing
    await tick();
    expect(open).to.equal(false);
    r2();
    await tick();
    expect(open).to.equal(true);
  });

  it('rejects a limit that is not a positive integer', () => {
    expect(() => new Gate(0)).to.throw(/^gate limit must be a positive integer \(got 0\)$/);
  });
});
