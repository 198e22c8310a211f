import { EVENTS_VERSION, type UnsequencedEvent } from '../../../streams/events.js';
import { mulberry32 } from '../../../streams/mulberry32.js';

export interface GenericRunOptions {
  runId: string;
  steps: number;
  /** A curve, a matrix, an embedding and an image grid every this many steps. */
  every?: number;
  seed?: number;
  /** Steps at which an alert is raised, with its level and message. */
  alerts?: Array<{ step: number; level: 'info' | 'warning' | 'error'; message: string }>;
}

/**
 * The events of a run such as a user's script produces, in the generic kinds only: loss steps,
 * a custom metric (`custom/border-fraction`) and a learning rate each step, and every `every`
 * steps a probe curve over diffusion timesteps (`probe/acc-vs-t`), a mutual-information
 * matrix between timesteps (`probe/mi`), a class embedding coloured by `class` (0..3) and
 * `radius`, and a grid of images with captions and marks.
 */
export function* genericRun(opts: GenericRunOptions): Generator<UnsequencedEvent> {
  const { runId, steps, every = 20, seed = 1, alerts = [] } = opts;
  const rand = mulberry32(seed);
  const t = Date.now;
  yield {
    type: 'run-start',
    runId,
    step: 0,
    time: t(),
    meta: {
      runId,
      eventsVersion: EVENTS_VERSION,
      createdAt: new Date().toISOString(),
      backend: 'synthetic',
      config: { steps, every, seed },
      status: 'running',
    },
  };
  const timesteps = [0, 100, 200, 300, 400, 500];
  for (let step = 1; step <= steps; step++) {
    const p = step / steps;
    yield {
      type: 'step',
      runId,
      step,
      time: t(),
      loss: 0.1 + Math.exp(-4 * p) * (0.8 + 0.1 * rand()),
      examplesPerSec: 400,
    };
    yield {
      type: 'metric',
      runId,
      step,
      time: t(),
      name: 'custom/border-fraction',
      value: 0.4 * (1 - p) + 0.05 * rand(),
    };
    yield { type: 'metric', runId, step, time: t(), name: 'train/lr', value: 1e-3 * (1 - 0.5 * p) };
    for (const a of alerts)
      if (a.step === step)
        yield { type: 'alert', runId, step, time: t(), level: a.level, message: a.message };
    if (step % every !== 0) continue;
    yield {
      type: 'curve',
      runId,
      step,
      time: t(),
      name: 'probe/acc-vs-t',
      x: timesteps,
      y: timesteps.map((ts) => Math.min(1, p * (1 - ts / 600) + 0.05 * rand())),
      xLabel: 'timestep',
      yLabel: 'accuracy',
    };
    const n = timesteps.length;
    const values: number[] = [];
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) values.push(p * Math.exp(-Math.abs(i - j) / 2));
    yield {
      type: 'matrix',
      runId,
      step,
      time: t(),
      name: 'probe/mi',
      rows: n,
      cols: n,
      values,
      rowLabels: timesteps.map(String),
      colLabels: timesteps.map(String),
    };
    const points: number[] = [];
    const cls: number[] = [];
    const radius: number[] = [];
    for (let i = 0; i < 120; i++) {
      const c = i % 4;
      const r = 0.2 + 0.8 * rand();
      const a = (c / 4) * 2 * Math.PI + p * rand();
      points.push(
        r * Math.cos(a) * (1 + c),
        r * Math.sin(a) * (1 + c),
        (c - 1.5) * p + 0.3 * rand(),
      );
      cls.push(c);
      radius.push(Math.round(r * 1000) / 1000);
    }
    yield {
      type: 'embedding',
      runId,
      step,
      time: t(),
      name: 'probe/classes',
      points,
      colourBy: { class: cls, radius },
    };
    const size = 8;
    yield {
      type: 'images',
      runId,
      step,
      time: t(),
      name: 'samples/grid',
      size,
      thumbs: Array.from({ length: 4 }, (_, k) => ({
        pixels: Array.from({ length: size * size }, (_, i) => ((i + k * 7 + step) * 37) % 256),
        caption: `sample ${k}`,
        marks: [
          { x: k + 2, y: 3, kind: 'label' },
          { x: k + 2.5, y: 3.5, kind: 'found' },
        ],
      })),
    };
  }
}
