import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flagsToConfig, main } from '../../../engine/cli/cli.js';

/** Runs the CLI in-process, capturing what it writes to stderr. */
async function cli(args: string[]): Promise<{ code: number; stderr: string }> {
  const write = process.stderr.write.bind(process.stderr);
  let stderr = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    return true;
  }) as typeof process.stderr.write;
  try {
    return { code: await main(args), stderr };
  } finally {
    process.stderr.write = write;
  }
}

describe('cli', () => {
  let out: string;
  beforeEach(() => {
    out = mkdtempSync(join(tmpdir(), 'pw-cli-'));
  });
  afterEach(() => rmSync(out, { recursive: true, force: true }));

  const bad: [string[], RegExp][] = [
    [['run', '--dx', '-1'], /^phasewatch: dx must be a number > 0/],
    [['run', '--dx', 'abc'], /^phasewatch: dx must be a number > 0 .*\(got "abc"\)/],
    [['run', '--size', '0'], /^phasewatch: size must be an integer from 8/],
    [['run', '--backend', 'quantum'], /^phasewatch: backend must be one of auto, .*\(got "quantum"\)/],
    [['run', '--widths', '8,16'], /^phasewatch: widths must be three integers/],
    [['run', '--port', '99999', '--serve'], /^phasewatch: port must be an integer from 0 to 65535/],
    [['run', '--stepz', '3'], /^phasewatch: Unknown option '--stepz'/],
    [['run', 'no-such-script.ts'], /^phasewatch: script file "no-such-script.ts" does not exist/],
    [['fly'], /^phasewatch: command must be one of run, serve/],
  ];
  for (const [args, message] of bad) {
    it(`rejects ${args.join(' ')} with one line`, async () => {
      const { code, stderr } = await cli([...args, '--out', out]);
      expect(code).to.equal(1);
      expect(stderr).to.match(message);
      expect(stderr.trim().split('\n')).to.have.length(1);
    });
  }

  it('maps flags onto config fields', () => {
    expect(
      flagsToConfig({ steps: '10', 'snapshot-every': '5', widths: '8,16,32', embed: 'pca' }),
    ).to.deep.equal({ steps: 10, snapshotEvery: 5, widths: [8, 16, 32], embed: 'pca' });
  });
});
