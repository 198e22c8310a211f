import { expect } from 'chai';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import dxSweep, { INCREMENTS } from '../../examples/dx-sweep.js';
import { tinyContext } from './script-context.js';

describe('examples/dx-sweep', () => {
  let runsDir: string;
  beforeEach(() => {
    runsDir = mkdtempSync(join(tmpdir(), 'pw-ex-'));
  });
  afterEach(() => rmSync(runsDir, { recursive: true, force: true }));

  it('runs one stored run per increment and reports when each phase was first seen', async () => {
    const rows = await lastValueFrom(dxSweep(tinyContext(runsDir)).pipe(toArray()));
    expect(rows.map((r) => r.dx)).to.deep.equal(INCREMENTS);
    for (const r of rows) {
      const first = Object.values(r.firstAt);
      expect(first.length).to.be.at.least(1);
      expect(first.every((step) => step !== undefined && step > 0 && step <= 12)).to.equal(true);
    }
    expect(readdirSync(runsDir)).to.have.length(INCREMENTS.length);
  });
});
