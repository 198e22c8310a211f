import { expect } from 'chai';
import { metricName, scalarSeries } from '../../../engine/export/scalars.js';
import type { RunEvent } from '../../../streams/events.js';

const base = { runId: 'r', seq: 0, time: 1000 };

describe('engine/export/scalars', () => {
  it('names metrics with their tags, sorted by key', () => {
    expect(metricName('probe/acc')).to.equal('probe/acc');
    expect(metricName('probe/acc', { t: '10', layer: '4' })).to.equal('probe/acc/layer=4,t=10');
  });

  it('prefers a metric the run stored over the same figure derived from its assessment', () => {
    const events: RunEvent[] = [
      { ...base, type: 'step', step: 1, loss: 0.5, examplesPerSec: 10 },
      {
        ...base,
        type: 'assessment',
        step: 2,
        accuracy: 0.25,
        bumps: { none: 0, one: 1, many: 0 },
        r2: { x: 0.5, y: 0.5, mean: 0.5 },
        phase: 'C',
        rawPhase: 'C',
        evidence: {},
        embedding: [],
        labels: [],
        size: 4,
        samples: [],
      },
      { ...base, type: 'metric', step: 2, name: 'phase/accuracy', value: 0.3 },
      { ...base, type: 'metric', step: 3, name: 'nan', value: Number.NaN },
    ];
    const points = scalarSeries(events);
    expect(points.filter((p) => p.name === 'phase/accuracy')).to.deep.equal([
      { step: 2, time: 1000, name: 'phase/accuracy', value: 0.3 },
    ]);
    expect(points.find((p) => p.name === 'phase/index')?.value).to.equal(2);
    expect(points.find((p) => p.name === 'train/loss')?.value).to.equal(0.5);
    expect(points.some((p) => p.name === 'nan')).to.equal(false);
  });
});
