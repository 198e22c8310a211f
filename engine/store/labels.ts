import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunMeta } from '../../streams/events.js';
import { readRunMeta, writeFileAtomic } from './run-store.js';

/** What a user may change about a run after it started: its name, tags and notes. */
export interface RunLabels {
  name?: string;
  tags?: string[];
  notes?: string;
}

const LABELS_FILE = 'labels.json';

/**
 * The labels edited after a run started (`labels.json`; empty when there is none or it is
 * unreadable). They live apart from `meta.json`, which the run's own writer rewrites, so an
 * edit of a live run is never lost; `readRunMeta` lays them over the meta.
 */
export function readRunLabels(dir: string): RunLabels {
  const file = join(dir, LABELS_FILE);
  if (!existsSync(file)) return {};
  try {
    return checkLabels(JSON.parse(readFileSync(file, 'utf8')));
  } catch {
    return {};
  }
}

/**
 * Changes a run's name, tags or notes (absent fields are kept; `''` clears a name or notes,
 * `[]` the tags) and returns the run's meta as readers now see it. Safe while the run is live.
 *
 * @example editRunLabels('runs/abc', { tags: ['baseline', 'dx0.5'] });
 */
export function editRunLabels(dir: string, patch: RunLabels): RunMeta {
  readRunMeta(dir); // a one-line error when dir is not a run
  const next = { ...readRunLabels(dir), ...checkLabels(patch) };
  writeFileAtomic(join(dir, LABELS_FILE), JSON.stringify(next, null, 2));
  return readRunMeta(dir);
}

/** Validates labels; throws one line naming the field, the value and what is accepted. */
export function checkLabels(value: unknown): RunLabels {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error('labels must be an object with name, tags or notes');
  }
  const out: RunLabels = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (key === 'name' || key === 'notes') {
      const max = key === 'name' ? 200 : 10_000;
      if (typeof v !== 'string' || v.length > max || hasControl(v)) {
        throw new Error(
          `${key} must be text of at most ${max} characters (got ${JSON.stringify(v)?.slice(0, 80)})`,
        );
      }
      out[key] = v;
    } else if (key === 'tags') {
      const ok =
        Array.isArray(v) &&
        v.length <= 50 &&
        v.every(
          (t) => typeof t === 'string' && t.length >= 1 && t.length <= 64 && !/[,\s]/.test(t),
        );
      if (!ok) {
        throw new Error(
          `tags must be a list of at most 50 words of 1-64 characters without commas or spaces (got ${JSON.stringify(v)?.slice(0, 80)})`,
        );
      }
      out.tags = v as string[];
    } else {
      throw new Error(`unknown label "${key}" (accepted: name, tags, notes)`);
    }
  }
  return out;
}

/** True when text holds control characters other than tab and newline. */
function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 32 && c !== 9 && c !== 10) return true;
  }
  return false;
}
