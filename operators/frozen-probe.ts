import { concatMap, defer, finalize, from, map, mergeMap } from 'rxjs';
import type { OperatorFunction } from 'rxjs';
import type { EventInput, ModelSample, Snapshot } from '../streams/events.js';
import type { Gate } from '../streams/gate.js';

/** What the DiVA probes need of a frozen model (a `DivaSampler` is one). */
export interface DivaProbeSampler {
  readonly step: number;
  readonly latentDim: number;
  encode(images: Float32Array): Promise<{ mu: Float32Array; sigma: Float32Array }>;
  sample(
    guides: Float32Array,
    opts: {
      seed: number;
      steps?: number;
      guidance?: number;
      method?: 'ddim' | 'ddpm' | 'algorithm1';
    },
  ): Promise<ModelSample>;
  generate(
    z: Float32Array | null,
    n: number,
    opts: { seed: number; steps?: number },
  ): Promise<{ images: Float32Array; mu: Float32Array }>;
  /** Guided and unguided noise-estimate MSE on noised examples (see `DivaSampler.denoiseMse`). */
  denoiseMse?(
    examples: Float32Array,
    fractions: number[],
    seed: number,
  ): Promise<{ guided: number; unguided: number }>;
  dispose(): void;
}

/** A model the probes can freeze (a `Diva` is one). */
export interface FreezableDiva {
  freeze(): DivaProbeSampler;
}

export interface FrozenProbeOptions {
  /**
   * The run's training gate: held (`pause`) from the moment a snapshot arrives until its
   * probe is done, so the weights probed are the snapshot's own step's (snapshotEvery still
   * holds the gate when it hands the snapshot on). Without one, the probe sees the weights of
   * whatever step training has reached, and tags its metric events with `weightsStep`.
   */
  gate?: Gate;
}

/**
 * Runs `probe` on a frozen copy of `model` for each snapshot, one at a time and in order,
 * and emits the events it returns. With a gate, training is held from each snapshot's arrival
 * until its probe finishes; a frozen copy is always disposed, also on error or unsubscribe.
 *
 * ```
 * snapshots:  --a-------b----|     probe(a) takes 4 frames
 * result:     ------(xy)----(z)|
 * ```
 *
 * @example snaps$.pipe(frozenProbe(model, async (m, s) => [{ type: 'metric', name: 'n', value: m.latentDim, step: s.step }]));
 */
export function frozenProbe(
  model: FreezableDiva,
  probe: (sampler: DivaProbeSampler, s: Snapshot) => Promise<EventInput[]>,
  opts: FrozenProbeOptions = {},
): OperatorFunction<Snapshot, EventInput> {
  if (!model || typeof model.freeze !== 'function') {
    throw new Error('probe model must have a freeze() method (a Diva)');
  }
  return (source) =>
    defer(() => {
      const held = new Set<() => void>();
      const let_go = (release: (() => void) | undefined): void => {
        if (release && held.delete(release)) release();
      };
      return source.pipe(
        // Synchronously on arrival, before snapshotEvery lets training go on.
        map((s) => {
          const release = opts.gate?.pause();
          if (release) held.add(release);
          return { s, release };
        }),
        concatMap(({ s, release }) =>
          defer(async () => {
            const sampler = model.freeze();
            try {
              const events = await probe(sampler, s);
              if (sampler.step === s.step) return events;
              const weightsStep = String(sampler.step);
              return events.map((e) =>
                e.type === 'metric' ? { ...e, tags: { ...e.tags, weightsStep } } : e,
              );
            } finally {
              sampler.dispose();
            }
          }).pipe(
            mergeMap((events) => from(events)),
            finalize(() => let_go(release)),
          ),
        ),
        finalize(() => [...held].forEach((r) => let_go(r))),
      );
    });
}

/** [-1, 1] values → 0..255 grey levels for an `images` thumbnail. */
export function toGreyLevels(values: Float32Array): number[] {
  return Array.from(values, (v) => Math.round((Math.max(-1, Math.min(1, v)) + 1) * 127.5));
}
