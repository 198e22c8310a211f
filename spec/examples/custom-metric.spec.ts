import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isObservable, lastValueFrom, toArray } from 'rxjs';
import customMetric, { borderFraction } from '../../examples/custom-metric.js';
import type { Snapshot } from '../../streams/events.js';
import { readRunMeta } from '../../engine/store/run-store.js';
import { readRunEvents } from '../../streams/replay.js';
import { tinyContext } from './script-context.js';

/** An 8×8 snapshot with one bright pixel per image at the given (x, y). */
function snapAt(points: [number, number][]): Snapshot {
  const images = new Float32Array(points.length * 64).fill(-1);
  points.forEach(([x, y], i) => {
    images[i * 64 + y * 8 + x] = 1;
  });
  return {
    runId: 'r',
    step: 1,
    size: 8,
    labels: new Float32Array(points.length * 2),
    images,
    activations: new Float32Array(0),
    dim: 0,
  };
}

describe('examples/custom-metric', () => {
  let runsDir: string;
  beforeEach(() => {
    runsDir = mkdtempSync(join(tmpdir(), 'pw-ex-'));
  });
  afterEach(() => rmSync(runsDir, { recursive: true, force: true }));

  it('counts bumps near the border', () => {
    expect(
      borderFraction(
        snapAt([
          [0, 4],
          [4, 4],
          [7, 7],
          [4, 3],
        ]),
      ),
    ).to.equal(0.5);
  });

  it('stores its metrics with the default experiment, replayable from disk', async () => {
    const out = customMetric(tinyContext(runsDir));
    if (!isObservable(out)) throw new Error('expected an Observable');
    const events = await lastValueFrom(out.pipe(toArray()));
    const runDir = join(runsDir, events[0].runId);
    const stored = readRunEvents(runDir);
    const custom = stored.filter((e) => e.type === 'metric' && e.name.startsWith('custom/'));
    // one border and one moving-average value per snapshot
    const snapshots = stored.filter((e) => e.type === 'snapshot').map((e) => e.step);
    expect(snapshots).to.deep.equal([4, 8, 12]);
    expect(custom.map((e) => e.step)).to.deep.equal([4, 4, 8, 8, 12, 12]);
    expect(custom.map((e) => (e.type === 'metric' ? e.name : ''))).to.include('custom/border-avg');
    expect(stored.at(-1)).to.include({ type: 'run-end', status: 'completed' });
    expect(readRunMeta(runDir)).to.include({ name: 'custom-metric' });
  });
});
