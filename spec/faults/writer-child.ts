/**
 * A child process for fault trials: `node --import tsx spec/faults/writer-child.ts '<json>'`.
 * Writes (or resumes) a synthetic run, printing `started` once the run is open; kills itself
 * with SIGKILL at `killAt` if given, or exits without closing the run with `abandon`, or
 * holds the run open with `hold` until it is killed.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunStore } from '../../engine/store/run-store.js';
import {
  resumeRun,
  writeEvents,
  type KillAt,
  type KillSite,
  type WriterOptions,
} from './synthetic-writer.js';

interface ChildArgs extends WriterOptions {
  runsDir: string;
  mode: 'create' | 'resume' | 'abandon' | 'hold';
  killAt?: KillAt;
}

const args = JSON.parse(process.argv[2]) as ChildArgs;
const seen = new Map<KillSite, number>();
let store: RunStore | undefined;
const kill = (site: KillSite) => {
  if (!args.killAt || args.killAt.site !== site) return;
  const n = (seen.get(site) ?? 0) + 1;
  seen.set(site, n);
  if (n < args.killAt.nth) return;
  if (site === 'torn-line' && store) {
    appendFileSync(join(store.dir, 'events.jsonl'), '{"type":"step","runId":"');
  }
  process.kill(process.pid, 'SIGKILL');
};

const dir = join(args.runsDir, args.runId);
if (args.mode === 'resume') {
  process.stdout.write('started\n');
  await resumeRun(dir, args, kill);
} else {
  store = RunStore.create({
    runsDir: args.runsDir,
    runId: args.runId,
    backend: 'synthetic',
    config: { steps: args.steps },
  });
  store.append({
    type: 'run-start',
    runId: args.runId,
    step: 0,
    time: Date.now(),
    meta: store.info,
  });
  process.stdout.write('started\n');
  if (args.mode === 'hold') {
    await writeEvents(store, { ...args, steps: Math.min(args.steps, 20) }, 0);
    process.stdout.write('holding\n');
    setInterval(() => undefined, 1000);
  } else {
    await writeEvents(store, args, 0, kill);
    if (args.mode === 'abandon') process.exit(0);
    store.close('completed', args.steps);
  }
}
