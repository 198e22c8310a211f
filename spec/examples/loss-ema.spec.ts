import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isObservable, lastValueFrom, toArray } from 'rxjs';
import lossEma from '../../examples/loss-ema.js';
import { readRunMeta } from '../../engine/store/run-store.js';
import { readRunEvents } from '../../streams/replay.js';
import { tinyContext } from './script-context.js';

describe('examples/loss-ema', () => {
  let runsDir: string;
  beforeEach(() => {
    runsDir = mkdtempSync(join(tmpdir(), 'pw-ex-'));
  });
  afterEach(() => rmSync(runsDir, { recursive: true, force: true }));

  it('stores a moving average of the loss at every step', async () => {
    const out = lossEma(tinyContext(runsDir, {}));
    if (!isObservable(out)) throw new Error('expected an Observable');
    const events = await lastValueFrom(out.pipe(toArray()));
    const runDir = join(runsDir, events[0].runId);
    const stored = readRunEvents(runDir);
    const steps = stored.flatMap((e) => (e.type === 'step' ? [e] : []));
    const ema = stored.flatMap((e) =>
      e.type === 'metric' && e.name === 'train/loss-ema' ? [e] : [],
    );
    expect(ema.map((e) => e.step)).to.deep.equal(steps.map((e) => e.step));
    expect(ema[0].value).to.be.closeTo(steps[0].loss, 1e-9);
    const lo = Math.min(...steps.map((e) => e.loss));
    const hi = Math.max(...steps.map((e) => e.loss));
    for (const e of ema) expect(e.value).to.be.within(lo - 1e-9, hi + 1e-9);
    expect(readRunMeta(runDir)).to.include({ name: 'loss-ema', status: 'completed' });
  });
});
