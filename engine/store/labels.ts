import { join } from 'node:path';
import type { RunMeta } from '../../streams/events.js';
import { writeFileAtomic } from './atomic-file.js';
import { writeError } from './io-error.js';
import {
  checkLabels,
  LABELS_FILE,
  readRunLabels,
  readRunMeta,
  type RunLabels,
} from './run-meta.js';

export { checkLabels, readRunLabels, type RunLabels } from './run-meta.js';

/**
 * Changes a run's name, tags or notes (absent fields are kept; `''` clears a name or notes,
 * `[]` the tags) and returns the run's meta as readers now see it. Safe while the run is live;
 * a write that fails (a full disk) changes nothing and throws one line.
 *
 * @example editRunLabels('runs/abc', { tags: ['baseline', 'dx0.5'] });
 */
export function editRunLabels(dir: string, patch: RunLabels): RunMeta {
  readRunMeta(dir); // a one-line error when dir is not a run
  const next = { ...readRunLabels(dir), ...checkLabels(patch) };
  try {
    writeFileAtomic(join(dir, LABELS_FILE), JSON.stringify(next, null, 2));
  } catch (err) {
    // The labels stay as they were (no temp file); the run itself, maybe live, goes on.
    throw writeError(`cannot write ${LABELS_FILE} of ${dir}`, err);
  }
  return readRunMeta(dir);
}
