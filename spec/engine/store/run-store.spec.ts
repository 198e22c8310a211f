import { expect } from 'chai';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Subject } from 'rxjs';
import type { RunEvent } from '../../../streams/events.js';
import { readRunEvents } from '../../../streams/replay.js';
import {
  listRuns,
  readRunMeta,
  readSnapshotArrays,
  RunStore,
} from '../../../engine/store/run-store.js';
import { startChild } from '../../faults/child.js';

describe('RunStore', () => {
  let runsDir: string;
  beforeEach(() => {
    runsDir = mkdtempSync(join(tmpdir(), 'pw-store-'));
  });
  afterEach(() => rmSync(runsDir, { recursive: true, force: true }));

  const step = (n: number) =>
    ({ type: 'step', runId: 'x', step: n, time: 0, loss: 1 / n, examplesPerSec: 10 }) as const;

  it('stamps seq, writes each event before publishing it', () => {
    const hub = new Subject<RunEvent>();
    const store = RunStore.create({ runsDir, runId: 'r1', backend: 'cpu', config: {}, hub });
    const seenOnDisk: number[] = [];
    hub.subscribe(() => seenOnDisk.push(readRunEvents(store.dir).length));
    store.append(step(1));
    store.append(step(2));
    expect(seenOnDisk).to.deep.equal([1, 2]);
    const events = readRunEvents(store.dir);
    expect(events.map((e) => e.seq)).to.deep.equal([1, 2]);
    expect(events.every((e) => e.runId === 'r1')).to.equal(true);
  });

  it('closes with a run-end event and the status in meta.json', () => {
    const store = RunStore.create({ runsDir, runId: 'r2', backend: 'cpu', config: { dx: 1 } });
    store.append(step(1));
    store.close('completed', 1);
    expect(readRunMeta(store.dir)).to.include({ status: 'completed', lastStep: 1, backend: 'cpu' });
    expect(readRunEvents(store.dir).at(-1)).to.include({ type: 'run-end', seq: 2 });
    expect(listRuns(runsDir).map((m) => m.runId)).to.deep.equal(['r2']);
  });

  it('reopens a killed run, dropping a half-written line and continuing seq', async () => {
    // A writer that exits without closing its run: its lock names a process that is gone.
    const child = startChild({
      runsDir,
      runId: 'r3',
      steps: 2,
      snapshotEvery: 10,
      mode: 'abandon',
    });
    expect(await child.exited).to.equal('exit 0');
    const dir = join(runsDir, 'r3');
    appendFileSync(join(dir, 'events.jsonl'), '{"type":"st');
    expect(readRunEvents(dir)).to.have.length(3);
    expect(readRunMeta(dir).status).to.equal('interrupted');
    const again = RunStore.open(dir);
    again.append(step(3));
    expect(readRunEvents(dir).map((e) => e.seq)).to.deep.equal([1, 2, 3, 4]);
    expect(readFileSync(join(dir, 'events.jsonl'), 'utf8')).not.to.include('"st\n');
    again.close('completed', 3);
  });

  it('refuses a second writer of a live run, in the same process too, with one line', () => {
    const store = RunStore.create({ runsDir, runId: 'busy', backend: 'cpu', config: {} });
    store.append(step(1));
    expect(() => RunStore.open(store.dir)).to.throw(
      new RegExp(`^run "busy" is being written by process ${process.pid} since [^\n]*$`),
    );
    expect(readRunMeta(store.dir).status).to.equal('running');
    store.close('completed', 1);
    expect(existsSync(join(store.dir, 'writer.lock'))).to.equal(false);
    const again = RunStore.open(store.dir);
    expect(() => RunStore.open(store.dir)).to.throw(/is being written/);
    again.close('completed', 1);
  });

  it('round-trips snapshot arrays', () => {
    const store = RunStore.create({ runsDir, runId: 'r4', backend: 'cpu', config: {} });
    const arrays = {
      labels: Float32Array.from([1, 2]),
      images: Float32Array.from([0.5, -1, 1]),
      activations: Float32Array.from([3, 4, 5, 6]),
    };
    const rel = store.writeSnapshot(100, arrays);
    expect(readSnapshotArrays(join(store.dir, rel))).to.deep.equal(arrays);
  });

  it('refuses a bad or duplicate runId with one line', () => {
    RunStore.create({ runsDir, runId: 'dup', backend: 'cpu', config: {} }).append(step(1));
    expect(() => RunStore.create({ runsDir, runId: 'dup', backend: 'cpu', config: {} })).to.throw(
      /runId "dup" already exists/,
    );
    expect(() => RunStore.create({ runsDir, runId: '../x', backend: 'cpu', config: {} })).to.throw(
      /^runId must be 1-200 letters/,
    );
  });

  it('names the run dir when it cannot be read', () => {
    expect(() => readRunEvents(join(runsDir, 'nope'))).to.throw(
      /runDir ".*nope" is not a readable/,
    );
  });

  it('reopening a run removes the temp files a killed writer left, not the lock files of others', () => {
    const store = RunStore.create({ runsDir, runId: 'left', backend: 'cpu', config: {} });
    store.close('stopped', 0);
    const dir = join(runsDir, 'left');
    mkdirSync(join(dir, 'checkpoints', '20'));
    writeFileSync(join(dir, 'checkpoints', '20', 'weights.bin.tmp-99999'), 'half');
    writeFileSync(join(dir, 'snapshots', '20.bin.tmp-99999-3'), 'half');
    writeFileSync(join(dir, 'meta.json.tmp-99999-4'), 'half');
    writeFileSync(join(dir, 'writer.lock.tmp-abc'), 'theirs');
    RunStore.open(dir).close('stopped', 0);
    expect(readdirSync(join(dir, 'checkpoints', '20'))).to.deep.equal([]);
    expect(readdirSync(join(dir, 'snapshots'))).to.deep.equal([]);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).to.deep.equal([
      'writer.lock.tmp-abc',
    ]);
  });
});
