import type { OperatorFunction } from 'rxjs';
import type { Dataset, EventInput, Snapshot } from '../streams/events.js';
import type { MolrgDataset } from '../streams/molrg.js';
import { sigmaFromAlphaBar } from '../streams/molrg.js';
import { classBases, csnr as csnrOf, csnrClosedForm } from './metrics/csnr.js';
import {
  timestepsOption,
  classesOf,
  featuresAt,
  perSnapshot,
  resolveProbeSet,
  splitRows,
} from './probe-set.js';
import type { ProbeSetOptions } from './probe-set.js';

export interface CsnrOptions extends ProbeSetOptions {
  /** Timesteps to measure at (default 0, 5, 10, 20, 40, 60, 80). */
  timesteps?: number[];
  /** Dimension of each class's feature basis (default: the MoLRG's subspaceDim, else 4). */
  basisDim?: number;
  /** ᾱ_t of the model's schedule, for the MoLRG reference curves (default: model.schedule). */
  alphaBars?: ArrayLike<number>;
  /** Prefix of the emitted names (default 'csnr'). */
  name?: string;
}

function isMolrg(d: Dataset): d is MolrgDataset {
  const m = d as Partial<MolrgDataset>;
  return typeof m.posteriorMean === 'function' && Array.isArray(m.bases);
}

/**
 * Class-specific SNR (seed 002) against timestep, at every snapshot. On the model's features
 * (`<name>/features` curve): per-class bases are the top `basisDim` right singular vectors of
 * each class's train-split features (centred on their overall mean, so the shared ReLU offset
 * is not every class's first direction), CSNR is measured on the test split. When the probe set
 * is a MoLRG it also emits, for reference, the CSNR of the analytic optimal posterior on the
 * clean inputs with the true bases (`<name>/posterior`) and the seed's closed form
 * (`<name>/closed-form`), at σ_t = √((1-ᾱ_t)/ᾱ_t); plus `metric` `<name>/peak-t`.
 *
 * ```
 * snapshots: --s1-------s2------|
 * result:    -----(fpcm)----(fpcm)|
 * ```
 * @example snapshots$.pipe(csnr({ model, probe: molrg({ seed: 9 }), timesteps: [0, 10, 40] }));
 */
export function csnr(opts: CsnrOptions): OperatorFunction<Snapshot, EventInput> {
  const set = resolveProbeSet(opts, 'csnr');
  const timesteps = timestepsOption(opts, 'csnr');
  const molrg = isMolrg(opts.probe) ? opts.probe : undefined;
  const basisDim = opts.basisDim ?? molrg?.subspaceDim ?? 4;
  if (!Number.isInteger(basisDim) || basisDim < 1) {
    throw new Error(`csnr basisDim must be a positive integer (got ${String(basisDim)})`);
  }
  const name = opts.name ?? 'csnr';
  const schedule = (opts.model as { schedule?: { alphaBars?: ArrayLike<number> } }).schedule;
  const alphaBars = opts.alphaBars ?? schedule?.alphaBars;
  if (molrg && !alphaBars) {
    throw new Error('csnr alphaBars is needed for the MoLRG reference (the model has no schedule)');
  }
  if (alphaBars) {
    for (const t of timesteps) {
      if (t >= alphaBars.length) {
        throw new Error(`csnr timesteps must be < T = ${alphaBars.length} (got ${t})`);
      }
    }
  }
  // The reference curves do not depend on the model: compute them once.
  let reference: { posterior: number[]; closed: number[] } | undefined;
  const referenceCurves = (): { posterior: number[]; closed: number[] } => {
    if (reference || !molrg || !alphaBars) return reference!;
    const x0 = set.examples;
    const posterior: number[] = [];
    const closed: number[] = [];
    for (const t of timesteps) {
      const sigma = sigmaFromAlphaBar(alphaBars[t]);
      posterior.push(
        csnrOf(molrg.posteriorMean(x0, sigma), set.classes, molrg.bases, molrg.ambientDim),
      );
      closed.push(
        csnrClosedForm({
          classes: molrg.classes,
          subspaceDim: molrg.subspaceDim,
          noise: molrg.noise,
          sigma,
        }),
      );
    }
    return (reference = { posterior, closed });
  };
  return perSnapshot(opts.model, async (s, sampler) => {
    const values: number[] = [];
    const trainY = classesOf(set, set.train);
    const testY = classesOf(set, set.test);
    for (const t of timesteps) {
      const act = await featuresAt(s, sampler, set, t);
      const { train, test } = splitRows(act, set);
      const mean = new Float64Array(act.dim);
      const nTrain = train.length / act.dim;
      for (let i = 0; i < nTrain; i++)
        for (let j = 0; j < act.dim; j++) mean[j] += train[i * act.dim + j] / nTrain;
      for (const rows of [train, test]) {
        for (let i = 0; i < rows.length; i++) rows[i] -= mean[i % act.dim];
      }
      const bases = classBases(train, trainY, act.dim, set.K, Math.min(basisDim, act.dim));
      values.push(csnrOf(test, testY, bases, act.dim));
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    let peak = 0;
    for (let i = 1; i < values.length; i++) if (values[i] > values[peak]) peak = i;
    const curve = (suffix: string, y: number[]): EventInput => ({
      type: 'curve',
      step: s.step,
      name: `${name}/${suffix}`,
      x: timesteps,
      y,
      xLabel: 'timestep',
      yLabel: 'CSNR',
    });
    const events: EventInput[] = [curve('features', values)];
    if (molrg) {
      const ref = referenceCurves();
      events.push(curve('posterior', ref.posterior), curve('closed-form', ref.closed));
    }
    events.push({ type: 'metric', step: s.step, name: `${name}/peak-t`, value: timesteps[peak] });
    return events;
  });
}
