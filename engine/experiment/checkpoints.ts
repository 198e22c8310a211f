import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { filter, from, ignoreElements, mergeMap, type OperatorFunction } from 'rxjs';
import type { Model } from '../../streams/events.js';
import type { Gate } from '../../streams/gate.js';
import { writeError } from '../store/io-error.js';

/**
 * Saves the model as `checkpoints/<step>` (the step it holds) and keeps the newest two
 * (the one before in case a write is cut). A save that fails (a full disk) rejects with one
 * line, `checkpoint at step 200: no space left on device (ENOSPC)`, and the older checkpoints
 * stay.
 */
export async function saveCheckpoint(model: Model, runDir: string): Promise<void> {
  const root = join(runDir, 'checkpoints');
  const step = model.step;
  try {
    await model.save(join(root, String(step)));
  } catch (err) {
    throw writeError(`checkpoint at step ${step}`, err);
  }
  const old = readdirSync(root)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n < step)
    .sort((a, b) => b - a)
    .slice(1);
  for (const n of old) rmSync(join(root, String(n)), { recursive: true, force: true });
}

/** The newest complete checkpoint of a run, if any (named by the step it holds). */
export function latestCheckpoint(runDir: string): { dir: string; step: number } | undefined {
  const root = join(runDir, 'checkpoints');
  const steps = existsSync(root)
    ? readdirSync(root)
        .map(Number)
        .filter((n) => Number.isInteger(n) && existsSync(join(root, String(n), 'model.json')))
    : [];
  if (!steps.length) return undefined;
  const step = Math.max(...steps);
  return { dir: join(root, String(step)), step };
}

/** A checkpoint at every `every`-th step, saved while training waits; see `checkpointEvery`. */
export interface Checkpoints {
  /**
   * On the step events: at each checkpoint step, holds `gate` while the weights are saved.
   * Errors (ending the run `failed` with the reason) when a checkpoint cannot be written.
   */
  save: OperatorFunction<{ step: number }, never>;
  /**
   * Resolves once the checkpoint of `step` is on disk (at once when none was taken); rejects
   * with the same one-line error as `save` when it could not be written.
   */
  saved(step: number): Promise<void>;
}

/**
 * At each snapshot step training is between steps: hold it (`gate.pause()`) while the weights
 * of exactly this step are saved, so the snapshot of that step can be stored once its
 * checkpoint is on disk (`saved(step)`).
 *
 * @example
 * const checkpoints = checkpointEvery(100, model, store.dir, gate);
 * merge(steps$.pipe(checkpoints.save), snaps$.pipe(concatMap((s) => checkpoints.saved(s.step))));
 */
export function checkpointEvery(
  every: number,
  model: Model,
  runDir: string,
  gate: Gate,
): Checkpoints {
  // Each save settles into its outcome at once, so a failed write is never an unhandled
  // rejection (which would end the process) while nobody awaits it yet.
  const pending = new Map<number, Promise<Error | undefined>>();
  return {
    save: (steps$) =>
      steps$.pipe(
        filter((e) => e.step % every === 0),
        mergeMap((e) => {
          const resume = gate.pause();
          const outcome = saveCheckpoint(model, runDir).then(
            () => undefined,
            (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
          );
          const done = outcome.finally(resume);
          pending.set(e.step, done);
          return from(
            done.then((err) => {
              if (err) throw err;
            }),
          );
        }),
        ignoreElements(),
      ),
    async saved(step) {
      const err = await pending.get(step);
      pending.delete(step);
      if (err) throw err;
    },
  };
}
