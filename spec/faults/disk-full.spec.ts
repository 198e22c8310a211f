import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import fs, { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readRunMeta, RunStore } from '../../engine/store/run-store.js';
import { readRunLog } from '../../streams/replay.js';
import { tempFiles } from './check-run.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** True when this machine lets an unprivileged user mount a tmpfs in a user namespace. */
function canMountTmpfs(): boolean {
  const r = spawnSync('unshare', ['-rm', 'sh', '-c', 'mount -t tmpfs -o size=64k tmpfs /tmp'], {
    stdio: 'ignore',
  });
  return r.status === 0;
}

/** An error like the one the kernel gives when the disk is full. */
function enospc(syscall: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`ENOSPC: no space left on device, ${syscall}`);
  err.code = 'ENOSPC';
  err.syscall = syscall;
  return err;
}

/**
 * Runs `body` with `fs[name]` replaced (ESM imports of node:fs included, via
 * `syncBuiltinESMExports`), then puts it back.
 */
function withFault<K extends keyof typeof fs>(
  name: K,
  fake: (typeof fs)[K],
  body: () => void,
): void {
  const real = fs[name];
  (fs as Record<string, unknown>)[name] = fake;
  syncBuiltinESMExports();
  try {
    body();
  } finally {
    (fs as Record<string, unknown>)[name] = real;
    syncBuiltinESMExports();
  }
}

const step = (n: number) =>
  ({ type: 'step', runId: 'x', step: n, time: 0, loss: 1, examplesPerSec: 1 }) as const;

describe('faults: disk full and write errors', function () {
  this.timeout(60_000);
  let runsDir: string;
  beforeEach(() => {
    runsDir = mkdtempSync(join(tmpdir(), 'pw-full-'));
  });
  afterEach(() => rmSync(runsDir, { recursive: true, force: true }));

  it('a run on a full tmpfs ends failed with the reason, a run-end event, whole lines and no temp files', function () {
    if (!canMountTmpfs()) this.skip(); // the injected-fault tests below cover the same paths
    const script = join(root, 'spec/faults/disk-full-child.ts');
    const r = spawnSync(
      'unshare',
      [
        '-rm',
        'sh',
        '-c',
        `mount -t tmpfs -o size=192k tmpfs "$1" && exec "$2" --import tsx "$3" "$1"`,
        'sh',
        runsDir,
        process.execPath,
        script,
      ],
      { cwd: root, encoding: 'utf8' },
    );
    expect(r.status, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(out.appended).to.be.greaterThan(10);
    expect(out.error).to.match(/ENOSPC/);
    expect(out.error).not.to.include('\n');
    expect(out.bad).to.equal(0);
    expect(out.endsWithNewline).to.equal(true);
    expect(out.last).to.include({ type: 'run-end', status: 'failed' });
    expect(out.last.error).to.match(/ENOSPC/);
    expect(out.meta).to.include({ status: 'failed' });
    expect(out.meta.error).to.match(/ENOSPC/);
    expect(out.temp).to.deep.equal([]);
    expect(out.lock).to.equal(false);
    expect(out.reserve).to.equal(false);
  });

  it('a write cut short by a full disk is cut back off, and the run ends failed', () => {
    const store = RunStore.create({ runsDir, runId: 'cut', backend: 'cpu', config: {} });
    store.append(step(1));
    const realWrite = fs.writeSync;
    let calls = 0;
    let thrown = '';
    withFault(
      'writeSync',
      ((fd: number, buf: Buffer, off?: number, len?: number) => {
        // The next event's line: half of it goes out, then the disk is full; after the
        // reserve is given back (run-end), writes succeed again.
        calls++;
        if (calls === 1) return realWrite(fd, buf, off ?? 0, Math.floor((len ?? buf.length) / 2));
        if (calls === 2) throw enospc('write');
        return realWrite(fd, buf, off, len);
      }) as typeof fs.writeSync,
      () => {
        try {
          store.append(step(2));
        } catch (err) {
          thrown = (err as Error).message;
        }
      },
    );
    expect(thrown).to.match(
      /^cannot write .*events\.jsonl: ENOSPC: no space left on device, write \(the run ended failed\)$/,
    );
    const log = readRunLog(store.dir);
    expect(log.bad).to.deep.equal([]);
    expect(log.tornBytes).to.equal(0);
    expect(log.events.map((e) => e.type)).to.deep.equal(['step', 'run-end']);
    expect(log.events[1]).to.include({ status: 'failed', seq: 2 });
    const meta = readRunMeta(store.dir);
    expect(meta.status).to.equal('failed');
    expect(meta.error).to.match(/ENOSPC/);
    expect(store.open).to.equal(false);
    expect(store.close('failed', 2, 'again')).to.equal(undefined);
    expect(tempFiles(store.dir)).to.deep.equal([]);
  });

  it('a snapshot that cannot be written leaves no temp file and ends the run failed with its reason', () => {
    const store = RunStore.create({ runsDir, runId: 'snap', backend: 'cpu', config: {} });
    store.append(step(1));
    const realWriteFile = fs.writeFileSync;
    let message = '';
    withFault(
      'writeFileSync',
      ((file: string, data: string | Uint8Array) => {
        // Half a file, then no space: what a full disk does to a big write. Once the run's
        // reserve is given back there is room again (for its end).
        if (!fs.existsSync(join(store.dir, '.reserve'))) return realWriteFile(file, data);
        realWriteFile(file, typeof data === 'string' ? data.slice(0, 10) : data.subarray(0, 10));
        throw enospc('write');
      }) as typeof fs.writeFileSync,
      () => {
        try {
          store.writeSnapshot(10, {
            labels: new Float32Array(4),
            images: new Float32Array(64),
            activations: new Float32Array(8),
          });
        } catch (err) {
          message = (err as Error).message;
        }
      },
    );
    expect(message).to.equal('snapshot at step 10: no space left on device (ENOSPC)');
    expect(tempFiles(store.dir)).to.deep.equal([]);
    expect(fs.existsSync(join(store.dir, 'snapshots', '10.bin'))).to.equal(false);
    expect(store.open).to.equal(false);
    // What a composition does next (record): close failed, a no-op now.
    expect(store.close('failed', 1, message)).to.equal(undefined);
    const meta = readRunMeta(store.dir);
    expect(meta).to.include({ status: 'failed', error: message });
    expect(readRunLog(store.dir).events.at(-1)).to.include({
      type: 'run-end',
      status: 'failed',
      error: message,
    });
    expect(readFileSync(join(store.dir, 'events.jsonl'), 'utf8').endsWith('\n')).to.equal(true);
    expect(fs.existsSync(join(store.dir, 'writer.lock'))).to.equal(false);
  });

  it('a meta.json that cannot be written at a phase change ends the run failed after the phase event', () => {
    const store = RunStore.create({ runsDir, runId: 'meta', backend: 'cpu', config: {} });
    store.append(step(1));
    const realWriteFile = fs.writeFileSync;
    let message = '';
    withFault(
      'writeFileSync',
      ((file: string, data: string | Uint8Array) => {
        if (!fs.existsSync(join(store.dir, '.reserve'))) return realWriteFile(file, data);
        realWriteFile(file, typeof data === 'string' ? data.slice(0, 10) : data.subarray(0, 10));
        throw enospc('write');
      }) as typeof fs.writeFileSync,
      () => {
        try {
          store.append({
            type: 'phase',
            runId: 'x',
            step: 2,
            time: 0,
            from: null,
            to: 'A',
            evidence: {},
          });
        } catch (err) {
          message = (err as Error).message;
        }
      },
    );
    expect(message).to.equal('meta.json of run meta: no space left on device (ENOSPC)');
    expect(tempFiles(store.dir)).to.deep.equal([]);
    const meta = readRunMeta(store.dir);
    expect(meta).to.include({ status: 'failed', error: message, phase: 'A' });
    const types = readRunLog(store.dir).events.map((e) => e.type);
    expect(types).to.deep.equal(['step', 'phase', 'run-end']);
  });

  it('a run that cannot be created on a full disk leaves nothing behind', () => {
    const realWriteFile = fs.writeFileSync;
    let message = '';
    withFault(
      'writeFileSync',
      ((file: string, data: string | Uint8Array) => {
        if (String(file).includes('meta.json')) throw enospc('write');
        return realWriteFile(file, data);
      }) as typeof fs.writeFileSync,
      () => {
        try {
          RunStore.create({ runsDir, runId: 'nope', backend: 'cpu', config: {} });
        } catch (err) {
          message = (err as Error).message;
        }
      },
    );
    expect(message).to.match(/ENOSPC/);
    expect(fs.readdirSync(runsDir)).to.deep.equal([]);
  });
});
