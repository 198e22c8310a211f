import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { merge, Observable, share, type Subject } from 'rxjs';
import { map, tap } from 'rxjs/operators';
import { assessPhases } from '../operators/assess-phases.js';
import { locateBump } from '../operators/metrics/locate-bump.js';
import { phaseTransitions } from '../operators/phase-transitions.js';
import { snapshotEvery } from '../operators/snapshot-every.js';
import type { AssessmentEvent, RunEvent, SampleThumb, StepEvent } from '../streams/events.js';
import { gaussianBumps } from '../streams/gaussian-bumps.js';
import { training } from '../streams/training.js';
import type { Assessment, Dataset, Snapshot } from '../streams/events.js';
import { selectBackend } from './backend/backend.js';
import { resolveConfig, type ExperimentConfig } from './config.js';
import { createDdpm, type Ddpm } from './models/ddpm.js';
import { createRng } from './models/random.js';
import { readRunMeta, RunStore } from './store/run-store.js';

export interface RunOptions {
  /** Where runs are stored (default `runs`). */
  runsDir?: string;
  /** Every stored event of every run is also published here (the live server listens). */
  hub?: Subject<RunEvent>;
  /** Called when a due snapshot is skipped because the previous one is still being assessed. */
  onSkip?: (step: number) => void;
  /** A stored run to continue from its newest checkpoint (its own config is used). */
  resume?: string;
}

/** Thumbnails sent per snapshot over the wire. */
const THUMBS = 16;

/**
 * Runs the seed-004 experiment: trains a conditional UNet DDPM on Gaussian bumps, samples
 * a snapshot every `snapshotEvery` steps, assesses its phase, and stores every event
 * (`runs/<runId>/`). Cold: the run starts on subscribe; unsubscribing stops it and marks
 * it `stopped`. Emits each event after it is on disk.
 *
 * @example
 * runExperiment({ steps: 500, dx: 1 }).pipe(filter((e) => e.type === 'phase')).subscribe(console.log);
 */
export function runExperiment(
  partial: Partial<ExperimentConfig> = {},
  opts: RunOptions = {},
): Observable<RunEvent> {
  return new Observable<RunEvent>((subscriber) => {
    let store: RunStore | undefined;
    let model: Ddpm | undefined;
    let lastStep = 0;
    let finished = false;
    let inner: { unsubscribe(): void } | undefined;

    const finish = (status: 'completed' | 'stopped' | 'failed', err?: unknown) => {
      if (finished) return;
      finished = true;
      inner?.unsubscribe();
      const message =
        err instanceof Error ? err.message : err === undefined ? undefined : String(err);
      store?.close(status, lastStep, message);
      model?.dispose();
      if (status === 'failed') subscriber.error(err);
      else subscriber.complete();
    };

    (async () => {
      const resumeDir = opts.resume;
      const cfg = resumeDir ? storedConfig(resumeDir) : resolveConfig(partial);
      const data = gaussianBumps({
        size: cfg.size,
        dx: cfg.dx,
        dy: cfg.dy,
        sigma: cfg.sigma,
        hole: cfg.hole,
      });
      const backend = await selectBackend(cfg.backend);
      if (subscriber.closed) return;
      model = createDdpm({
        size: cfg.size,
        widths: cfg.widths as [number, number, number],
        attention: cfg.attention,
        condHidden: cfg.condHidden,
        T: cfg.timesteps,
        lr: cfg.lr,
        emaDecay: cfg.emaDecay,
        seed: cfg.seed,
      });
      if (resumeDir) {
        const checkpoint = latestCheckpoint(resumeDir);
        if (checkpoint) await model.load(checkpoint);
        store = RunStore.open(resumeDir, opts.hub);
        store.updateMeta({ backend });
      } else {
        store = RunStore.create({
          runsDir: opts.runsDir ?? 'runs',
          runId: cfg.runId,
          backend,
          config: { ...cfg, datasetSize: data.count, params: model.paramCount },
          hub: opts.hub,
        });
      }
      const startStep = model.step;
      lastStep = startStep;
      const s = store;
      const m = model;
      const emit = (e: RunEvent) => subscriber.next(e);
      emit(
        s.append({
          type: 'run-start',
          runId: s.runId,
          step: startStep,
          time: Date.now(),
          meta: s.info,
        }),
      );

      const steps$ = training(m, data, {
        runId: s.runId,
        steps: cfg.steps - startStep,
        startStep,
        batchSize: cfg.batchSize,
        seed: cfg.seed,
      }).pipe(share());
      const pick = snapshotLabels(data, cfg.samples, cfg.seed);
      const sampler = async (e: StepEvent): Promise<Snapshot> => {
        const t0 = performance.now();
        const r = await m.sample({ labels: pick, steps: cfg.ddimSteps, seed: cfg.seed + e.step });
        const sampleMs = Math.round(performance.now() - t0);
        const snap: Snapshot = { runId: s.runId, step: e.step, size: cfg.size, labels: pick, ...r };
        const file = s.writeSnapshot(e.step, snap);
        await saveCheckpoint(m, s.dir, e.step);
        emit(
          s.append({
            type: 'snapshot',
            runId: s.runId,
            step: e.step,
            time: Date.now(),
            file,
            count: pick.length / 2,
            size: cfg.size,
            dim: r.dim,
            sampleMs,
          }),
        );
        return snap;
      };
      const snaps$ = steps$.pipe(
        snapshotEvery(cfg.snapshotEvery, sampler, { onSkip: (e) => opts.onSkip?.(e.step) }),
        share(),
      );
      const assessed$ = snaps$.pipe(
        assessPhases({ confirm: cfg.confirm, seed: cfg.seed, embed: cfg.embed }),
        share(),
      );
      const snapsByStep = new Map<number, Snapshot>();
      inner = merge(
        steps$.pipe(
          tap((e) => {
            lastStep = e.step;
            emit(s.append(e));
          }),
        ),
        snaps$.pipe(tap((snap) => snapsByStep.set(snap.step, snap))),
        assessed$.pipe(
          tap((a) => {
            const snap = snapsByStep.get(a.step);
            snapsByStep.delete(a.step);
            if (snap) emit(s.append(assessmentEvent(s.runId, a, snap)));
          }),
        ),
        assessed$.pipe(
          phaseTransitions(),
          map((p) =>
            s.append({
              type: 'phase',
              runId: s.runId,
              step: p.step,
              time: Date.now(),
              from: p.from,
              to: p.to,
              evidence: p.evidence,
            }),
          ),
          tap(emit),
        ),
      ).subscribe({
        error: (err: unknown) => finish('failed', err),
        complete: () => finish('completed'),
      });
    })().catch((err: unknown) => finish('failed', err));

    return () => finish('stopped');
  });
}

/** The config a stored run was started with. */
function storedConfig(runDir: string): ExperimentConfig {
  const stored: Record<string, unknown> = { ...readRunMeta(runDir).config };
  delete stored.datasetSize;
  delete stored.params;
  delete stored.runId;
  return resolveConfig(stored as Partial<ExperimentConfig>);
}

/** The newest complete checkpoint of a run, if any. */
function latestCheckpoint(runDir: string): string | undefined {
  const root = join(runDir, 'checkpoints');
  const steps = existsSync(root)
    ? readdirSync(root)
        .map(Number)
        .filter((n) => Number.isInteger(n) && existsSync(join(root, String(n), 'model.json')))
    : [];
  return steps.length ? join(root, String(Math.max(...steps))) : undefined;
}

/** Keeps the weights of the newest snapshot (and the one before, in case a write is cut). */
async function saveCheckpoint(model: Ddpm, runDir: string, step: number): Promise<void> {
  const root = join(runDir, 'checkpoints');
  await model.save(join(root, String(step)));
  const old = readdirSync(root)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n < step)
    .sort((a, b) => b - a)
    .slice(1);
  for (const n of old) rmSync(join(root, String(n)), { recursive: true, force: true });
}

/** A fixed, seeded draw of training labels, the same at every snapshot of a run. */
export function snapshotLabels(data: Dataset, count: number, seed: number): Float32Array {
  const rng = createRng(seed * 7919 + 17);
  const out = new Float32Array(count * 2);
  for (let i = 0; i < count; i++) {
    const j = Math.floor(rng.next() * data.count);
    out[2 * i] = data.labels[2 * j];
    out[2 * i + 1] = data.labels[2 * j + 1];
  }
  return out;
}

/** What the wire carries of an assessment: figures, the embedding, a few thumbnails. */
function assessmentEvent(
  runId: string,
  a: Assessment & { rawPhase?: Assessment['phase'] },
  snap: Snapshot,
): Omit<AssessmentEvent, 'seq'> {
  const n = snap.labels.length / 2;
  const px = snap.size * snap.size;
  const samples: SampleThumb[] = [];
  for (let i = 0; i < Math.min(THUMBS, n); i++) {
    const img = snap.images.subarray(i * px, (i + 1) * px);
    samples.push({
      label: [snap.labels[2 * i], snap.labels[2 * i + 1]],
      located: locateBump(img, snap.size),
      pixels: Array.from(img, (v) => Math.round(Math.min(1, Math.max(0, (v + 1) / 2)) * 255)),
    });
  }
  return {
    type: 'assessment',
    runId,
    step: a.step,
    time: Date.now(),
    accuracy: a.accuracy,
    bumps: a.bumps,
    r2: a.r2,
    phase: a.phase,
    rawPhase: a.rawPhase ?? a.phase,
    evidence: a.evidence,
    embedding: Array.from(a.embedding, (v) => Math.round(v * 1000) / 1000),
    labels: Array.from(snap.labels),
    size: snap.size,
    samples,
  };
}
