/**
 * Fills a small file system with a run: `node --import tsx spec/faults/disk-full-child.ts DIR`,
 * DIR on a tiny tmpfs. Writes synthetic events and snapshots until a write fails, then prints
 * one JSON line describing what the run dir holds.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { syntheticRun } from '../../engine/server/synthetic-run.js';
import { RunStore } from '../../engine/store/run-store.js';
import { tempFiles } from './check-run.js';

const runsDir = process.argv[2];
const store = RunStore.create({ runsDir, runId: 'full', backend: 'synthetic', config: {} });
let error = '';
let appended = 0;
try {
  for (const e of syntheticRun({ runId: 'full', steps: 100_000, snapshotEvery: 10, points: 50 })) {
    if (e.type === 'snapshot') {
      store.writeSnapshot(e.step, {
        labels: new Float32Array(100),
        images: new Float32Array(2000),
        activations: new Float32Array(1000),
      });
    }
    store.append(e);
    appended++;
  }
} catch (err) {
  error = (err as Error).message;
  // What a composition does with an error: end the run failed (a no-op if the store did).
  try {
    store.close('failed', 0, error);
  } catch (again) {
    error += ` / close: ${(again as Error).message}`;
  }
}
const dir = join(runsDir, 'full');
const text = readFileSync(join(dir, 'events.jsonl'), 'utf8');
const lines = text.split('\n').slice(0, -1);
let bad = 0;
for (const l of lines) {
  try {
    JSON.parse(l);
  } catch {
    bad++;
  }
}
process.stdout.write(
  JSON.stringify({
    error,
    appended,
    lines: lines.length,
    bad,
    endsWithNewline: text.endsWith('\n'),
    last: JSON.parse(lines.at(-1) ?? 'null'),
    meta: JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')),
    temp: tempFiles(dir),
    lock: existsSync(join(dir, 'writer.lock')),
    reserve: existsSync(join(dir, '.reserve')),
    files: readdirSync(dir),
  }) + '\n',
);
