import { Observable, type SchedulerLike, type Subscription, asyncScheduler } from 'rxjs';
import type { Phase, SampleThumb, UnsequencedEvent } from '../../streams/events.js';
import { defaultPhaseThresholds } from '../../operators/metrics/classify-phase.js';
import { mulberry32 } from '../../streams/mulberry32.js';
import { RunStore } from '../store/run-store.js';

export interface SyntheticRunOptions {
  runId?: string;
  /** Optimiser steps in the run. */
  steps: number;
  /** An assessment (and its snapshot) every this many steps. */
  snapshotEvery?: number;
  /** Points in each embedding. */
  points?: number;
  /** Thumbnails per assessment. */
  thumbs?: number;
  /** Image side in pixels. */
  size?: number;
  seed?: number;
}

const round = (v: number, d = 1000) => Math.round(v * d) / d;

/**
 * Events shaped like a real phasewatch run going through phases A → B → C, without training
 * anything: for the dashboard's tests, the live bench and demos. `runId`, `time` are filled
 * in as given / now; the run store stamps `seq`. No run-end: closing the store appends it.
 *
 * @example
 * for (const e of syntheticRun({ steps: 1000 })) store.append(e);
 */
export function* syntheticRun(opts: SyntheticRunOptions): Generator<UnsequencedEvent> {
  const { steps, snapshotEvery = 50, points = 300, thumbs = 8, size = 16, seed = 1 } = opts;
  const runId = opts.runId ?? 'synthetic';
  const rand = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const config = { kind: 'synthetic', steps, snapshotEvery, size };
  yield {
    type: 'run-start',
    runId,
    step: 0,
    time: Date.now(),
    meta: {
      runId,
      createdAt: new Date().toISOString(),
      backend: 'synthetic',
      config,
      status: 'running',
    },
  };
  // A fixed scramble of the label grid: phase B's manifold is 2-D but disordered.
  const scramble = Array.from({ length: points }, () => [rand(), rand()] as const);
  let phase: Phase | null = null;
  for (let step = 1; step <= steps; step++) {
    const progress = step / steps;
    const loss = 0.05 + 0.9 * Math.exp(-5 * progress) + 0.02 * Math.abs(gauss());
    yield { type: 'step', runId, step, time: Date.now(), loss, examplesPerSec: 500 + 20 * gauss() };
    if (step % snapshotEvery !== 0) continue;
    const raw: Phase = progress < 0.3 ? 'A' : progress < 0.6 ? 'B' : 'C';
    const labels: number[] = [];
    const embedding: number[] = [];
    for (let i = 0; i < points; i++) {
      const x = 1 + rand() * (size - 2);
      const y = 1 + rand() * (size - 2);
      labels.push(round(x, 100), round(y, 100));
      let u: number, v: number, w: number;
      if (raw === 'A') [u, v, w] = [gauss(), gauss(), gauss()];
      else {
        const [su, sv] = raw === 'B' ? scramble[i] : [x / size, y / size];
        const sharp = raw === 'B' ? 0.08 : 0.04 * (1 - progress) + 0.01;
        [u, v] = [su * 4 - 2 + sharp * gauss(), sv * 4 - 2 + sharp * gauss()];
        w = 0.8 * Math.sin(u * 1.3) + sharp * gauss();
      }
      embedding.push(round(u), round(v), round(w));
    }
    const accuracy =
      raw === 'A' ? 0.02 : raw === 'B' ? 0.15 + 0.1 * progress : 0.5 + 0.5 * progress;
    const one = raw === 'A' ? 0.15 : raw === 'B' ? 0.85 : 0.97;
    const none = raw === 'A' ? 0.55 : (1 - one) / 2;
    const r2x = raw === 'A' ? 0.04 : raw === 'B' ? 0.25 : 0.7 + 0.25 * progress;
    const r2y = raw === 'A' ? 0.03 : raw === 'B' ? 0.22 : 0.68 + 0.25 * progress;
    // the figures and thresholds the real rule records (assessSnapshot), so views read alike
    const evidence = {
      n: points,
      oneBump: one,
      accuracy,
      accuracyOneBump: Math.min(1, accuracy / one),
      r2mean: (r2x + r2y) / 2,
      neighbourhood: raw === 'A' ? 0.05 : raw === 'B' ? 0.12 : 0.35 + 0.3 * progress,
      tol: 1.5,
      ...defaultPhaseThresholds,
    };
    const samples: SampleThumb[] = [];
    for (let k = 0; k < thumbs; k++) {
      const label: [number, number] = [labels[2 * k], labels[2 * k + 1]];
      const located =
        raw === 'A'
          ? { x: size / 2, y: size / 2, count: k % 2 ? 0 : 2 }
          : raw === 'B'
            ? { x: 1 + rand() * (size - 2), y: 1 + rand() * (size - 2), count: 1 }
            : { x: label[0] + 0.3 * gauss(), y: label[1] + 0.3 * gauss(), count: 1 };
      const pixels: number[] = [];
      for (let r = 0; r < size; r++) {
        for (let c = 0; c < size; c++) {
          const d2 = (c - located.x) ** 2 + (r - located.y) ** 2;
          const bump = located.count === 1 ? Math.exp(-d2 / 4) : 0;
          const noise = raw === 'A' ? 0.35 * rand() : 0.05 * rand();
          pixels.push(Math.round(255 * Math.min(1, bump + noise)));
        }
      }
      samples.push({
        label,
        located: { x: round(located.x, 100), y: round(located.y, 100), count: located.count },
        pixels,
      });
    }
    yield {
      type: 'snapshot',
      runId,
      step,
      time: Date.now(),
      file: `snapshots/${step}.bin`,
      count: points,
      size,
      dim: 64,
      sampleMs: 40,
    };
    yield {
      type: 'assessment',
      runId,
      step,
      time: Date.now(),
      accuracy,
      bumps: { none, one, many: 1 - one - none },
      r2: { x: r2x, y: r2y, mean: (r2x + r2y) / 2 },
      phase: raw,
      rawPhase: raw,
      evidence,
      embedding,
      labels,
      size,
      samples,
    };
    if (raw !== phase) {
      yield { type: 'phase', runId, step, time: Date.now(), from: phase, to: raw, evidence };
      phase = raw;
    }
  }
}

/**
 * `syntheticRun` as a cold Observable emitting one optimiser step (and what goes with it)
 * every `intervalMs`, with `time` stamped at emission.
 */
export function syntheticRun$(
  opts: SyntheticRunOptions & { intervalMs?: number },
  scheduler: SchedulerLike = asyncScheduler,
): Observable<UnsequencedEvent> {
  const intervalMs = opts.intervalMs ?? 0;
  return new Observable<UnsequencedEvent>((subscriber) => {
    const events = syntheticRun(opts);
    let action: Subscription | undefined;
    const tick = (): void => {
      if (subscriber.closed) return;
      for (let next = events.next(); !next.done; next = events.next()) {
        subscriber.next({ ...next.value, time: Date.now() });
        if (subscriber.closed) return;
        if (next.value.type === 'step') {
          action = scheduler.schedule(tick, intervalMs);
          return;
        }
      }
      subscriber.complete();
    };
    action = scheduler.schedule(tick, 0);
    return () => action?.unsubscribe();
  });
}

/**
 * Writes a finished sweep of synthetic runs to `runsDir`: run `<sweepId>-<i>` at `lr` one of
 * four values and `seed` i, tagged `sweep:<sweepId>` as `phasewatch sweep` tags its runs, with a
 * `train/loss` metric every 10 steps. For
 * the dashboard's tests and the live bench. Returns the run ids.
 */
export function storeSyntheticSweep(opts: {
  runsDir: string;
  sweepId: string;
  runs: number;
  steps: number;
  snapshotEvery?: number;
  points?: number;
}): string[] {
  const ids: string[] = [];
  for (let i = 0; i < opts.runs; i++) {
    const runId = `${opts.sweepId}-${i}`;
    const config = { lr: [0.0001, 0.0003, 0.001, 0.003][i % 4], seed: i, steps: opts.steps };
    const store = RunStore.create({
      runsDir: opts.runsDir,
      runId,
      name: `lr=${config.lr},seed=${i}`,
      tags: ['sweep', `sweep:${opts.sweepId}`],
      backend: 'synthetic',
      config,
    });
    const events = syntheticRun({
      runId,
      steps: opts.steps,
      snapshotEvery: opts.snapshotEvery,
      points: opts.points,
      seed: i + 1,
    });
    for (const e of events) {
      store.append(e.type === 'run-start' ? { ...e, meta: { ...e.meta, config } } : e);
      if (e.type === 'step' && e.step % 10 === 0) {
        store.append({
          type: 'metric',
          runId,
          step: e.step,
          time: e.time,
          name: 'train/loss',
          value: e.loss,
        });
      }
    }
    store.close('completed', opts.steps);
    ids.push(runId);
  }
  return ids;
}
