import { expect } from 'chai';
import { lastValueFrom, of, toArray } from 'rxjs';
import { latentStraightness } from '../../operators/latent-straightness.js';
import type { EventInput, Snapshot } from '../../streams/events.js';
import { diskTrajectories, disks } from '../../streams/disks.js';
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

function metrics(events: EventInput[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of events) if (e.type === 'metric') out[e.name] = e.value;
  return out;
}

describe('latentStraightness', () => {
  it('is 1 for a code that holds the disk centre linearly; pixels are far from straight', async () => {
    const trajectories = diskTrajectories(disks({ size: 16, count: 1 }), {
      count: 4,
      frames: 8,
      seed: 3,
    });
    const { model } = fakeDiva({ size: 16 });
    const m = metrics(
      await lastValueFrom(
        of(snap(2)).pipe(latentStraightness({ model, trajectories, size: 16 }), toArray()),
      ),
    );
    expect(m['diva/straightness']).to.be.greaterThan(0.99);
    expect(m['diva/straightness/pixels']).to.be.below(0.5);
  });

  it('rejects a trajectory of fewer than 3 frames', () => {
    const { model } = fakeDiva({ size: 16 });
    expect(() =>
      latentStraightness({ model, trajectories: [new Float32Array(512)], size: 16 }),
    ).to.throw(/trajectories\[0\] must hold frames\*256 values with at least 3 frames \(got 512\)/);
  });
});
