import { map } from 'rxjs';
import type { OperatorFunction } from 'rxjs';
import type { Factor, Snapshot } from '../streams/events.js';

export interface RepresentationSnapshotsOptions {
  /**
   * Which of the model's named activations (`Snapshot.layers`, e.g. the MLP denoiser's
   * `layer1` or `layer2`) is the representation; default: the snapshot's own `activations`.
   */
  layer?: string;
  /** The named generative factors of the snapshot's N samples (e.g. the class each was asked for). */
  factors: (snap: Snapshot) => Record<string, Factor>;
  /** Optional: N verdicts on the generated samples, 1 ok and 0 not (or a score in [0, 1]). */
  samplesOk?: (snap: Snapshot) => Float32Array;
}

/**
 * Turns the snapshots a `Model` produces (`snapshotEvery`) into representation snapshots, so
 * `watchPhases` judges them by the generic rule (`assessRepresentation`) instead of the bump
 * rule: the chosen layer becomes `activations`, the factors and verdicts are attached, and the
 * bump fields (`size`, `labels`, `images`) are emptied.
 *
 * ```
 * snapshots: -a---b---|      a, b: snapshots of a model
 * result:    -a'--b'--|      a', b': the same steps, with factors (and samplesOk)
 * ```
 *
 * @example
 * snaps$.pipe(
 *   representationSnapshots({ layer: 'layer2', factors: (s) => ({ class: { values: s.labels, categorical: true } }) }),
 *   watchPhases({ seed: 1 }),
 * );
 */
export function representationSnapshots(
  opts: RepresentationSnapshotsOptions,
): OperatorFunction<Snapshot, Snapshot> {
  if (typeof opts?.factors !== 'function') {
    throw new Error(
      'representationSnapshots factors must be a function of the snapshot returning named factors',
    );
  }
  if (opts.samplesOk !== undefined && typeof opts.samplesOk !== 'function') {
    throw new Error(
      'representationSnapshots samplesOk must be a function of the snapshot returning N verdicts',
    );
  }
  return map((snap) => {
    let activations = snap.activations;
    let dim = snap.dim;
    if (opts.layer !== undefined) {
      const act = snap.layers?.[opts.layer];
      if (!act) {
        const names = Object.keys(snap.layers ?? {});
        throw new Error(
          `representationSnapshots layer "${opts.layer}" is not an activation of the model (has ${names.join(', ') || 'none'})`,
        );
      }
      ({ data: activations, dim } = act);
    }
    const samplesOk = opts.samplesOk?.(snap);
    return {
      ...snap,
      size: 0,
      labels: new Float32Array(0),
      images: new Float32Array(0),
      activations,
      dim,
      factors: opts.factors(snap),
      ...(samplesOk ? { samplesOk } : {}),
    };
  });
}
