import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunEvent, RunMeta } from '../../streams/events.js';
import { readRunLog } from '../../streams/replay.js';
import { tempFiles } from './check-run.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'engine/cli/bin.js');

/** True when this machine lets us mount a tmpfs in a user and mount namespace. */
function canMountTmpfs(): boolean {
  const r = spawnSync('unshare', ['-rm', 'sh', '-c', 'mount -t tmpfs -o size=64k tmpfs /tmp'], {
    stdio: 'ignore',
  });
  return r.status === 0;
}

/** A tiny experiment: the first snapshot and checkpoint come at step 20, in seconds. */
const TINY = [
  '--steps',
  '40',
  '--snapshot-every',
  '20',
  '--size',
  '8',
  '--batch-size',
  '8',
  '--ddim-steps',
  '2',
  '--timesteps',
  '10',
  '--embed',
  'pca',
  '--confirm',
  '1',
];

interface CliOnTmpfs {
  /** Exit code of the CLI. */
  code: number;
  stderr: string;
  /** What the tmpfs held after the CLI ended (copied out of the namespace). */
  runDir: string;
  /** Status of `GET /` on the dashboard after the run failed (with `--serve`). */
  page?: number;
}

/**
 * Runs `phasewatch run --out DISK args…` with DISK a tmpfs of `size` (in its own user and mount
 * namespace, so no root is needed), then copies what DISK holds out for the checks. With
 * `--serve`, once the CLI says the training ended it fetches the page, then stops the CLI with
 * SIGTERM as a user's Ctrl-C would.
 */
async function runOnTmpfs(base: string, size: string, args: string[]): Promise<CliOnTmpfs> {
  const disk = join(base, 'disk');
  const copy = join(base, 'copy');
  mkdirSync(disk);
  mkdirSync(copy);
  const script = [
    `mount -t tmpfs -o size=${size} tmpfs "$1" || exit 99`,
    'disk=$1 node=$2 bin=$3 copy=$4',
    'shift 4',
    '"$node" "$bin" run --out "$disk" "$@" &',
    'pid=$!',
    'echo "pid $pid"',
    'wait $pid',
    'rc=$?',
    'cp -a "$disk/." "$copy"',
    'exit $rc',
  ].join('\n');
  const child = spawn(
    'unshare',
    ['-rm', 'sh', '-c', script, 'sh', disk, process.execPath, bin, copy, ...args],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  let page: number | undefined;
  let asked = false;
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => {
    stderr += d;
    const url = /still serving the dashboard at (\S+)/.exec(stderr)?.[1];
    if (url && !asked) {
      asked = true;
      void fetch(url)
        .then((r) => r.text().then(() => (page = r.status)))
        .catch(() => (page = -1))
        .finally(() => {
          const pid = Number(/pid (\d+)/.exec(stdout)?.[1]);
          if (pid) process.kill(pid, 'SIGTERM');
        });
    }
  });
  const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? -1)));
  const runs = readdirSync(copy).filter((n) => !n.startsWith('.'));
  expect(runs, stderr).to.have.length(1);
  return { code, stderr, runDir: join(copy, runs[0]), page };
}

/** The checks every write site shares: failed with `reason` everywhere, nothing left over. */
function expectFailedCleanly(r: CliOnTmpfs, reason: RegExp): void {
  const meta = JSON.parse(readFileSync(join(r.runDir, 'meta.json'), 'utf8')) as RunMeta;
  expect(meta.status, r.stderr).to.equal('failed');
  expect(meta.error).to.match(reason);
  const log = readRunLog(r.runDir);
  expect(log.bad).to.deep.equal([]);
  expect(log.tornBytes).to.equal(0);
  const last = log.events.at(-1) as RunEvent & { status?: string; error?: string };
  expect(last).to.include({ type: 'run-end', status: 'failed' });
  expect(last.error).to.equal(meta.error);
  expect(tempFiles(r.runDir)).to.deep.equal([]);
  expect(existsSync(join(r.runDir, '.reserve')), '.reserve left').to.equal(false);
  expect(existsSync(join(r.runDir, 'writer.lock')), 'writer.lock left').to.equal(false);
  // One line of reason, never a stack trace.
  expect(r.stderr).to.match(new RegExp(`phasewatch: ${reason.source.replace(/^\^|\$$/g, '')}\n`));
  expect(r.stderr).not.to.match(/\n\s+at /);
  expect(r.stderr).not.to.include('Unhandled');
}

describe('faults: a full disk under the CLI (tmpfs)', function () {
  this.timeout(180_000);
  let base: string;
  beforeEach(function () {
    if (!canMountTmpfs()) this.skip(); // injected faults (checkpoints.spec, disk-full.spec) cover the same code
    base = mkdtempSync(join(tmpdir(), 'pw-full-cli-'));
  });
  afterEach(() => {
    if (base) rmSync(base, { recursive: true, force: true });
  });

  it('a checkpoint that does not fit ends the run failed; `run --serve` keeps serving', async () => {
    // The default UNet's checkpoint (weights, EMA, Adam: ~4 MB) cannot fit in 1 MiB; the
    // events, meta and reserve before it do.
    const r = await runOnTmpfs(base, '1m', [...TINY, '--samples', '16', '--serve', '--port', '0']);
    expect(r.page, r.stderr).to.equal(200);
    expect(r.code, r.stderr).to.equal(1);
    expectFailedCleanly(r, /^checkpoint at step 20: no space left on device \(ENOSPC\)$/);
    expect(readdirSync(join(r.runDir, 'checkpoints'))).to.deep.equal([]);
    expect(readdirSync(join(r.runDir, 'snapshots'))).to.deep.equal([]);
  });

  it('a snapshot that does not fit ends the run failed with its reason', async () => {
    // A small UNet's checkpoint (~240 KB) fits in 512 KiB beside the reserve and the log;
    // then 1,000 samples (~390 KB) do not.
    const r = await runOnTmpfs(base, '512k', [
      ...TINY,
      '--widths',
      '4,8,8',
      '--cond-hidden',
      '0',
      '--cond-layers',
      '1',
      '--samples',
      '1000',
    ]);
    expect(r.code, r.stderr).to.equal(1);
    expectFailedCleanly(r, /^snapshot at step 20: no space left on device \(ENOSPC\)$/);
    expect(readdirSync(join(r.runDir, 'snapshots'))).to.deep.equal([]);
    expect(readdirSync(join(r.runDir, 'checkpoints'))).to.deep.equal(['20']);
  });
});
