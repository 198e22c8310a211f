import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isObservable, lastValueFrom, toArray } from 'rxjs';
import phaseAlert from '../../examples/phase-alert.js';
import { tinyContext } from './script-context.js';

describe('examples/phase-alert', () => {
  let runsDir: string;
  beforeEach(() => {
    runsDir = mkdtempSync(join(tmpdir(), 'pw-ex-'));
  });
  afterEach(() => rmSync(runsDir, { recursive: true, force: true }));

  it('emits only phase events, the first from no phase', async () => {
    const out = phaseAlert(tinyContext(runsDir));
    if (!isObservable(out)) throw new Error('expected an Observable');
    const events = await lastValueFrom(out.pipe(toArray()));
    expect(events.length).to.be.at.least(1);
    expect(events.every((e) => e.type === 'phase')).to.equal(true);
    expect(events[0]).to.include({ from: null });
  });
});
