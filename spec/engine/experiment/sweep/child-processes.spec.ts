import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filter, firstValueFrom, lastValueFrom, take, toArray } from 'rxjs';
import {
  childProcesses,
  coresPerRun,
} from '../../../../engine/experiment/sweep/child-processes.js';
import { readRunMeta } from '../../../../engine/store/run-store.js';
import { readRunEvents } from '../../../../streams/replay.js';
import { sweep, type SweepEvent, type SweepPoint } from '../../../../streams/sweep.js';

const FAKE = new URL('./fake-job.ts', import.meta.url);

describe('childProcesses (sweep backend)', function () {
  this.timeout(120_000);
  let runsDir: string;
  beforeEach(() => {
    runsDir = mkdtempSync(join(tmpdir(), 'pw-sweepcp-'));
  });
  afterEach(() => rmSync(runsDir, { recursive: true, force: true }));

  it('runs each point in its own process with one addon thread; events interleave without loss; a crash is isolated', async () => {
    const grid: SweepPoint[] = [
      { k: 'a', n: 12, every: 40, barrier: 2 },
      { k: 'b', n: 12, every: 40, barrier: 2 },
      { k: 'c', n: 12, every: 40, crashAt: 3 },
    ];
    const events: SweepEvent[] = await lastValueFrom(
      sweep(grid, childProcesses({ module: FAKE }), { concurrency: 3, runsDir, name: 'cp' }).pipe(
        toArray(),
      ),
    );
    for (const runId of ['cp-ka_n12_every40_barrier2', 'cp-kb_n12_every40_barrier2']) {
      const mine = events.filter((e) => e.runId === runId);
      expect(mine.map((e) => e.seq)).to.deep.equal(Array.from({ length: 14 }, (_, i) => i + 1));
      expect(mine).to.deep.equal(readRunEvents(join(runsDir, runId)));
      expect(readRunMeta(join(runsDir, runId)).config).to.include({ threads: '1' });
    }
    // a's and b's events interleave: one of b's arrives between a's first and last
    const idx = (runId: string): number[] =>
      events.flatMap((e, i) => (e.runId === runId ? [i] : []));
    const a = idx('cp-ka_n12_every40_barrier2');
    expect(idx('cp-kb_n12_every40_barrier2').some((i) => i > a[0] && i < a[a.length - 1])).to.equal(
      true,
    );
    const alert = events.find((e) => e.type === 'alert');
    expect(alert).to.include({ runId: 'cp-kc_n12_every40_crashAt3', level: 'error' });
    expect(alert?.type === 'alert' && alert.message).to.match(
      /exited before the run ended \(code 3\)/,
    );
  });

  it('a job module that is missing or has no such export fails its run, in one line', async () => {
    const events = await lastValueFrom(
      sweep([{ k: 1 }], childProcesses({ module: FAKE, export: 'nope' }), { runsDir }).pipe(
        toArray(),
      ),
    );
    expect(events).to.have.length(1);
    expect(events[0].type === 'alert' && events[0].message).to.match(
      /has no function export "nope"/,
    );
  });

  it('unsubscribing stops the child; its run is stored as stopped', async () => {
    const backend = childProcesses({ module: FAKE, threads: 2 });
    await firstValueFrom(
      sweep([{ k: 's', n: 1000, every: 20 }], backend, { runsDir, name: 'st' }).pipe(
        filter((e) => e.type === 'metric'),
        take(2),
      ),
    );
    const dir = join(runsDir, 'st-ks_n1000_every20');
    for (let i = 0; i < 100 && readRunMeta(dir).status === 'running'; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(readRunMeta(dir)).to.include({ status: 'stopped' });
    expect(readRunMeta(dir).config).to.include({ threads: '2' });
    expect(readFileSync(join(dir, 'events.jsonl'), 'utf8')).to.contain('"stopped"');
  });

  it('checks its options', () => {
    expect(() => childProcesses({ module: FAKE, threads: 0 })).to.throw(
      /^childProcesses threads must be an integer from 1 to 64 \(got 0\)$/,
    );
    expect(() => childProcesses({ module: '' })).to.throw(/^childProcesses module must be/);
    expect(coresPerRun(1)).to.be.at.least(1);
  });
});
