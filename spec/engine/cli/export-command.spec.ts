import { expect } from 'chai';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { exportCommand } from '../../../engine/cli/export-command.js';
import { fakeRun } from '../export/fake-run.js';

/** Runs the command with stdout and stderr captured. */
async function capture(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const w1 = process.stdout.write;
  const w2 = process.stderr.write;
  process.stdout.write = ((s: string) => out.push(s) > 0) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => err.push(s) > 0) as typeof process.stderr.write;
  try {
    const code = await exportCommand(args);
    return { code, out: out.join(''), err: err.join('') };
  } finally {
    process.stdout.write = w1;
    process.stderr.write = w2;
  }
}

describe('engine/cli/export-command', () => {
  let run: ReturnType<typeof fakeRun>;
  beforeEach(() => (run = fakeRun()));
  afterEach(() => rmSync(run.runsDir, { recursive: true, force: true }));

  it('exports to TensorBoard and CSV in one call', async () => {
    const tb = join(run.runsDir, 'tb');
    const csv = join(run.runsDir, 'out.csv');
    const r = await capture([run.runDir, '--tensorboard', tb, `--csv=${csv}`]);
    expect(r.err).to.equal('');
    expect(r.code).to.equal(0);
    expect(r.out).to.match(/scalars, 2 image grids and 2 embeddings in .*tb\/r1/);
    expect(existsSync(join(tb, 'r1', 'projector_config.pbtxt'))).to.equal(true);
    expect(readFileSync(csv, 'utf8').split('\n')[0]).to.equal('run_id,step,time,name,value');
  });

  it('answers bad arguments with exit code 2 and one line naming the problem', async () => {
    const cases: [string[], RegExp][] = [
      [[run.runDir], /needs --tensorboard <dir> or --csv/],
      [[run.runDir, '--tensorboard'], /--tensorboard needs a value/],
      [[run.runDir, '--parquet', 'x.parquet'], /--parquet is not supported.*use --csv/],
      [[run.runDir, '--json', 'x'], /unknown option --json/],
      [['a', 'b', '--csv', 'x.csv'], /one runDir \(got 2/],
    ];
    for (const [args, message] of cases) {
      const r = await capture(args);
      expect(r.code, args.join(' ')).to.equal(2);
      expect(r.err.split('\n')[0]).to.match(message);
    }
  });

  it('answers a runDir that is not a run with exit code 1', async () => {
    const r = await capture([join(run.runsDir, 'missing'), '--csv', 'x.csv']);
    expect(r.code).to.equal(1);
    expect(r.err).to.match(/^phasewatch export: runDir ".*missing" does not exist\n$/);
  });
});
