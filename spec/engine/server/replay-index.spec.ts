import { expect } from 'chai';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Subject } from 'rxjs';
import { WebSocket } from 'ws';
import { startServer, type LiveServer } from '../../../engine/server/live-server.js';
import { ReplayIndex } from '../../../engine/server/replay-index.js';
import { syntheticRun } from '../../../engine/server/synthetic-run.js';
import { RunStore } from '../../../engine/store/run-store.js';
import type { RunEvent } from '../../../streams/events.js';
import type { ServerMessage } from '../../../streams/protocol.js';

/** Replays `runId` after `sinceSeq`; resolves with the seqs received and the error messages. */
async function replayFrom(port: number, runId: string, sinceSeq: number) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  await new Promise((r) => ws.once('open', r));
  const seqs: number[] = [];
  const errors: string[] = [];
  await new Promise<void>((resolve) => {
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as ServerMessage;
      if (m.type === 'events') seqs.push(...m.events.map((e) => e.seq));
      if (m.type === 'event') seqs.push(m.event.seq);
      if (m.type === 'error') errors.push(m.message);
      if (m.type === 'replayed') resolve();
    });
    ws.send(JSON.stringify({ v: 2, type: 'subscribe', runId, sinceSeq }));
  });
  ws.terminate();
  return { seqs, errors };
}

describe('replay index', () => {
  it('starts at the furthest mark before sinceSeq, and afresh for another version of the file', () => {
    const index = new ReplayIndex(100);
    for (const [offset, lastSeq] of [
      [50, 1],
      [120, 5],
      [230, 9],
      [260, 10],
      [400, 20],
    ]) {
      index.note('f', 'a', { offset, line: lastSeq, lastSeq });
    }
    // Marks closer than 100 bytes to the last kept one are not kept (50, 260).
    expect(index.start('f', 'a', 0)).to.deep.equal({ offset: 0, line: 0, lastSeq: 0 });
    expect(index.start('f', 'a', 8)).to.deep.include({ offset: 120 });
    expect(index.start('f', 'a', 19)).to.deep.include({ offset: 230 });
    expect(index.start('f', 'a', 1e9)).to.deep.include({ offset: 400 });
    expect(index.start('f', 'b', 1e9)).to.deep.include({ offset: 0 });
    expect(index.start('g', 'a', 1e9)).to.deep.include({ offset: 0 });
  });

  describe('in the live server', () => {
    let runsDir: string;
    let server: LiveServer;
    let total = 0;
    before(async () => {
      runsDir = mkdtempSync(join(tmpdir(), 'pw-index-'));
      const store = RunStore.create({ runsDir, runId: 'big', backend: 'cpu', config: {} });
      for (const e of syntheticRun({ runId: 'big', steps: 6000, snapshotEvery: 50, points: 300 })) {
        store.append(e);
      }
      total = store.close('completed', 6000)!.seq;
      // The index serves replays that read the file themselves: with the replay cache off (or
      // past what it holds). A cached log is taken as the append-only file it is.
      server = await startServer({
        runsDir,
        live$: new Subject<RunEvent>(),
        port: 0,
        replayCacheBytes: 0,
      });
    });
    after(async () => {
      await server.close();
      rmSync(runsDir, { recursive: true, force: true });
    });

    it('a later replay near the end does not read the log from the start', async () => {
      const first = await replayFrom(server.port, 'big', 0);
      expect(first.seqs).to.deep.equal(Array.from({ length: total }, (_, i) => i + 1));
      // Spoil line 2 in place (same file, same length): only a read from the start meets it.
      const file = join(runsDir, 'big', 'events.jsonl');
      const lines = readFileSync(file, 'utf8').split('\n');
      const offset = Buffer.byteLength(lines[0]) + 1;
      const fd = openSync(file, 'r+');
      writeSync(fd, Buffer.alloc(Buffer.byteLength(lines[1]), 'x'), 0, undefined, offset);
      closeSync(fd);
      const late = await replayFrom(server.port, 'big', total - 10);
      expect(late.seqs).to.deep.equal(Array.from({ length: 10 }, (_, i) => total - 9 + i));
      expect(late.errors).to.deep.equal([]);
      const again = await replayFrom(server.port, 'big', 0);
      expect(again.errors).to.have.length(1);
      expect(again.errors[0]).to.match(/line 2 \(not valid JSON\)/);
      expect(again.seqs).to.have.length(total - 1);
    });
  });
});
