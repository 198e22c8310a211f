import { expect } from 'chai';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { lastValueFrom, toArray } from 'rxjs';
import type { BadLine } from '../../streams/replay.js';
import { EventLineSplitter, readRunLog, readRunEvents, replay } from '../../streams/replay.js';

const line = (seq: number, step = seq) =>
  JSON.stringify({ type: 'step', runId: 'r', seq, step, time: 0, loss: 1, examplesPerSec: 1 });

describe('replay of a stored run', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pw-replay-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('skips a garbage line in the middle and reports it by line number, not fatal', async () => {
    writeFileSync(
      join(dir, 'events.jsonl'),
      [line(1), line(2), 'garbage{', line(3), '[1,2]', line(3), line(4)].join('\n') + '\n',
    );
    const log = readRunLog(dir);
    expect(log.events.map((e) => e.seq)).to.deep.equal([1, 2, 3, 4]);
    expect(log.bad).to.deep.equal([
      { line: 3, reason: 'not valid JSON' },
      { line: 5, reason: 'not a JSON object' },
      { line: 6, reason: 'seq 3 not above 3' },
    ]);
    const reported: BadLine[][] = [];
    const events = await lastValueFrom(
      replay(dir, { onBadLines: (bad) => reported.push(bad) }).pipe(toArray()),
    );
    expect(events.map((e) => e.seq)).to.deep.equal([1, 2, 3, 4]);
    expect(reported).to.deep.equal([log.bad]);
    expect(readRunEvents(dir, 2).map((e) => e.seq)).to.deep.equal([3, 4]);
  });

  it('leaves out a torn last line without calling it bad', () => {
    writeFileSync(join(dir, 'events.jsonl'), `${line(1)}\n${line(2)}\n{"type":"st`);
    const log = readRunLog(dir);
    expect(log.events).to.have.length(2);
    expect(log.bad).to.deep.equal([]);
    expect(log.tornBytes).to.equal('{"type":"st'.length);
    appendFileSync(join(dir, 'events.jsonl'), 'ep"}\n');
    expect(readRunLog(dir).bad).to.deep.equal([{ line: 3, reason: 'no valid "seq"' }]);
  });

  it('splits chunks cut anywhere, multi-byte characters included', () => {
    const text =
      [
        line(1),
        JSON.stringify({ type: 'alert', seq: 2, step: 1, message: 'π → ∞ 🎉' }),
        line(3),
      ].join('\n') + '\n';
    const bytes = Buffer.from(text);
    for (const cut of [1, 7, 64, bytes.length - 1]) {
      // As the server reads the file: bytes in chunks, through a UTF-8 decoder.
      const splitter = new EventLineSplitter();
      const decoder = new StringDecoder('utf8');
      const got = [
        ...splitter.push(decoder.write(bytes.subarray(0, cut))),
        ...splitter.push(decoder.write(bytes.subarray(cut))),
      ];
      expect(got.map((g) => g.event.seq)).to.deep.equal([1, 2, 3]);
      expect(got[1].event).to.include({ message: 'π → ∞ 🎉' });
    }
  });

  it('names the run dir when it has no log', () => {
    expect(() => readRunLog(join(dir, 'nope'))).to.throw(/^runDir ".*nope" is not a readable/);
  });
});
