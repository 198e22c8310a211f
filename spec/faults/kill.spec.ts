import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listRuns, readRunMeta, RunStore } from '../../engine/store/run-store.js';
import { mulberry32 } from '../../streams/mulberry32.js';
import { checkRun } from './check-run.js';
import { startChild } from './child.js';
import { KILL_SITES, resumeRun, type KillAt, type WriterOptions } from './synthetic-writer.js';

const full = process.env.PHASEWATCH_FAULTS === 'full';

interface Trial {
  name: string;
  killAt?: KillAt;
  /** Kill after this many ms instead of at a site. */
  afterMs?: number;
  /** Also kill the first resume after this many ms. */
  resumeKillMs?: number;
}

/** Figures over all trials, printed at the end for docs/reliability.md. */
const totals = { trials: 0, killed: 0, resumesKilled: 0, events: 0, problems: 0, dropped: 0 };

function trials(): Trial[] {
  const rand = mulberry32(2026);
  const out: Trial[] = [];
  // Every write site, early and late in the run.
  const quick = new Set(['checkpoint', 'assessment']);
  for (const site of KILL_SITES) {
    // Phase changes happen three times a run; the other sites 15 (snapshots) to 300 times.
    const nths = site === 'phase' ? [1, 2, 3] : [1, 4, 9];
    for (const nth of full ? nths : quick.has(site) ? [2] : []) {
      out.push({ name: `${site} #${nth}`, killAt: { site, nth } });
    }
  }
  const random = full ? 30 : 1;
  for (let i = 0; i < random; i++) {
    const afterMs = Math.round(rand() * 400);
    const t: Trial = { name: `random at ${afterMs} ms`, afterMs };
    // Every third: the resume is killed too, at a random moment.
    if (i % 3 === 2) t.resumeKillMs = Math.round(rand() * 300);
    out.push(t);
  }
  return out;
}

describe(`faults: kill -9 while writing, then resume (${full ? 'full' : 'quick'})`, function () {
  this.timeout(full ? 900_000 : 120_000);
  let runsDir: string;
  beforeEach(() => {
    runsDir = mkdtempSync(join(tmpdir(), 'pw-kill-'));
  });
  afterEach(() => rmSync(runsDir, { recursive: true, force: true }));
  after(() => {
    if (totals.trials) console.log(`      kill trials: ${JSON.stringify(totals)}`);
  });

  for (const [i, trial] of trials().entries()) {
    it(`${trial.name}: 0 torn lines, 0 duplicate or lost events after resume`, async () => {
      const o: WriterOptions = { runId: `k${i}`, steps: 300, snapshotEvery: 20, yieldEvery: 3 };
      const child = startChild({ ...o, runsDir, mode: 'create', killAt: trial.killAt });
      await child.printed('started');
      if (trial.afterMs !== undefined) {
        setTimeout(() => child.proc.kill('SIGKILL'), trial.afterMs);
      }
      const how = await child.exited;
      const dir = join(runsDir, o.runId);
      totals.trials++;
      // A kill that lands after the run ended but before the process exited finds it completed.
      const endedFirst = how === 'SIGKILL' && readRunMeta(dir).status === 'completed';
      if (how === 'SIGKILL' && !endedFirst) {
        totals.killed++;
        // The writer is gone: the run reads as interrupted, everywhere.
        expect(readRunMeta(dir).status).to.equal('interrupted');
        expect(listRuns(runsDir)[0].status).to.equal('interrupted');
      } else if (!endedFirst) {
        expect(how).to.equal('exit 0'); // finished before the random kill
      }
      if (trial.resumeKillMs !== undefined && how === 'SIGKILL' && !endedFirst) {
        const again = startChild({ ...o, runsDir, mode: 'resume' });
        await again.printed('started');
        setTimeout(() => again.proc.kill('SIGKILL'), trial.resumeKillMs);
        if ((await again.exited) === 'SIGKILL') totals.resumesKilled++;
      }
      if (how === 'SIGKILL' || trial.resumeKillMs !== undefined) {
        if (readRunMeta(dir).status !== 'completed') {
          const plan = await resumeRun(dir, o);
          totals.dropped += plan.dropped;
        }
      }
      const check = checkRun(dir, o);
      totals.events += check.events.length;
      totals.problems += check.problems.length;
      expect(check.problems).to.deep.equal([]);
    });
  }

  it('refuses a second writer of a live run with one line, and takes over once it is killed', async () => {
    const o: WriterOptions = { runId: 'live', steps: 100, snapshotEvery: 20 };
    const child = startChild({ ...o, runsDir, mode: 'hold' });
    await child.printed('holding');
    const dir = join(runsDir, 'live');
    let message = '';
    try {
      RunStore.open(dir);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).to.match(
      new RegExp(
        `^run "live" is being written by process ${child.proc.pid} since .*; stop it first`,
      ),
    );
    expect(message).not.to.include('\n');
    expect(readRunMeta(dir).status).to.equal('running');
    child.proc.kill('SIGKILL');
    await child.exited;
    expect(readRunMeta(dir).status).to.equal('interrupted');
    const store = RunStore.open(dir);
    expect(store.info.status).to.equal('running');
    store.close('stopped', 20);
    expect(readRunMeta(dir).status).to.equal('stopped');
  });
});
