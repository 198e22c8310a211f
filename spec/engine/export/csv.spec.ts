import { expect } from 'chai';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { exportCsv, scalarsCsv } from '../../../engine/export/csv.js';
import { fakeRun } from './fake-run.js';

/** RFC 4180 reader for the test: quoted cells, doubled quotes. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  const endCell = () => {
    row.push(cell);
    cell = '';
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted && c === '"' && text[i + 1] === '"') {
      cell += '"';
      i++;
    } else if (quoted && c === '"') quoted = false;
    else if (quoted) cell += c;
    else if (c === '"') quoted = true;
    else if (c === ',') endCell();
    else if (c === '\n') {
      endCell();
      rows.push(row);
      row = [];
    } else cell += c;
  }
  return rows;
}

describe('engine/export/csv', () => {
  let run: ReturnType<typeof fakeRun>;
  beforeEach(() => (run = fakeRun()));
  afterEach(() => rmSync(run.runsDir, { recursive: true, force: true }));

  it('writes every scalar as one long-format row that parses back', () => {
    const file = join(run.runsDir, 'r1.csv');
    const n = exportCsv(run.runDir, file);
    const rows = parseCsv(readFileSync(file, 'utf8'));
    expect(rows[0]).to.deep.equal(['run_id', 'step', 'time', 'name', 'value']);
    expect(rows).to.have.length(n + 1);
    const loss = rows.filter((r) => r[3] === 'train/loss');
    expect(loss.map((r) => [Number(r[1]), Number(r[4])])).to.deep.equal(
      [1, 2, 3, 4].map((s) => [s, 1 / s]),
    );
    expect(loss[0][2]).to.equal('2026-12-01T12:00:01.000Z');
    expect(rows.find((r) => r[3] === 'odd,"name"')?.slice(1)).to.deep.equal([
      '4',
      '2026-12-01T12:00:04.100Z',
      'odd,"name"',
      '-2',
    ]);
    expect(rows.find((r) => r[3] === 'phase/index')?.[4]).to.equal('1');
  });

  it('quotes cells with commas, quotes and line breaks only', () => {
    const text = scalarsCsv('a"b', [{ step: 1, time: 0, name: 'x\ny', value: 0.5 }]);
    expect(text).to.equal(
      'run_id,step,time,name,value\n"a""b",1,1970-01-01T00:00:00.000Z,"x\ny",0.5\n',
    );
  });
});
