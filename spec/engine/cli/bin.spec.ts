import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../../engine/cli/bin.js', import.meta.url));

/** PIDs of the live processes whose parent is `pid` (Linux /proc). */
function children(pid: number): number[] {
  if (!existsSync('/proc')) return [];
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A port nothing listens on right now. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Whether something accepts connections on the port. */
function listening(port: number): Promise<boolean> {
  return new Promise((r) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      r(true);
    });
    socket.once('error', () => r(false));
  });
}

function waitFor(child: ChildProcess, pattern: RegExp, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${pattern}: ${seen}`)),
      ms,
    );
    const on = (chunk: Buffer) => {
      seen += chunk.toString();
      if (pattern.test(seen)) {
        clearTimeout(timer);
        child.stderr?.off('data', on);
        resolve(seen);
      }
    };
    child.stderr?.on('data', on);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before ${pattern}: ${seen}`));
    });
  });
}

describe('the phasewatch command (engine/cli/bin.js)', function () {
  this.timeout(120000);
  let dir = '';
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'phasewatch-bin-'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`is one process: ${signal} stops the run (stored as stopped), frees the port, leaves no child`, async () => {
      const port = await freePort();
      const out = path.join(dir, signal);
      const child = spawn(
        process.execPath,
        [
          bin,
          'run',
          '--serve',
          '--port',
          String(port),
          '--out',
          out,
          '--backend',
          'cpu',
          '--steps',
          '1000000',
          '--size',
          '8',
          '--widths',
          '4,8,8',
          '--batch-size',
          '2',
          '--samples',
          '10',
          '--snapshot-every',
          '100000',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      const pid = child.pid as number;
      try {
        await waitFor(child, /dashboard at http/, 90000);
        expect(await listening(port), 'serving').to.equal(true);
        // Training is under way once the run's directory holds its log.
        for (let i = 0; i < 600 && !(existsSync(out) && readdirSync(out).length > 0); i++) {
          await new Promise((r) => setTimeout(r, 100));
        }
        // The CLI runs in this process; the only children are helpers that end with it
        // (tsx's esbuild service, which reads its stdin from this process).
        const kids = children(pid);
        const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
        child.kill(signal);
        const code = await exited;
        expect(code, 'exit code').to.equal(0);
        expect(await listening(port), 'port freed').to.equal(false);
        for (let i = 0; i < 50 && kids.some(alive); i++)
          await new Promise((r) => setTimeout(r, 100));
        for (const k of kids) expect(alive(k), `child ${k} left running`).to.equal(false);
        const [runId] = readdirSync(out);
        const meta = JSON.parse(readFileSync(path.join(out, runId, 'meta.json'), 'utf8')) as {
          status: string;
        };
        expect(meta.status).to.equal('stopped');
      } finally {
        if (alive(pid)) child.kill('SIGKILL');
      }
    });
  }

  it('Ctrl-C then --resume: every loss equals the uninterrupted run’s, bit for bit', async () => {
    const flags = [
      '--backend',
      existsSync(path.resolve('build/Release/phasewatch_native.node')) ? 'native' : 'cpu',
      '--size',
      '16',
      '--widths',
      '8,16,16',
      '--batch-size',
      '64',
      '--samples',
      '24',
      '--ddim-steps',
      '2',
      '--timesteps',
      '50',
      '--confirm',
      '1',
      '--embed',
      'pca',
      '--seed',
      '3',
      '--snapshot-every',
      '20',
      '--steps',
      '60',
    ];
    const exited = (child: ChildProcess): Promise<number | null> =>
      new Promise((r) => child.once('exit', (code) => r(code)));
    const runDir = (out: string): string => path.join(out, readdirSync(out)[0]);
    const losses = (dir: string): [number, number][] =>
      readFileSync(path.join(dir, 'events.jsonl'), 'utf8')
        .split('\n')
        .filter((l) => l.includes('"type":"step"'))
        .map((l) => JSON.parse(l) as { step: number; loss: number })
        .map((e) => [e.step, e.loss]);
    const run = (args: string[]): ChildProcess =>
      spawn(process.execPath, [bin, 'run', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });

    const whole = path.join(dir, 'whole');
    expect(await exited(run(['--out', whole, ...flags]))).to.equal(0);

    // Ctrl-C once the run is past its checkpoint at step 40.
    const cut = path.join(dir, 'cut');
    const child = run(['--out', cut, ...flags]);
    try {
      const code = exited(child);
      for (;;) {
        await new Promise((r) => setTimeout(r, 10));
        // (the run's directory is made before its events.jsonl; the listing is read once, as
        // an entry can come and go between two reads while the run starts)
        const events = (existsSync(cut) ? readdirSync(cut) : [])
          .map((name) => path.join(cut, name, 'events.jsonl'))
          .find((file) => existsSync(file));
        const last = events ? losses(path.dirname(events)).at(-1) : undefined;
        if (last && last[0] >= 42) break;
      }
      child.kill('SIGINT');
      expect(await code).to.equal(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    const stoppedAt = losses(runDir(cut)).at(-1)?.[0] ?? 0;
    expect(stoppedAt, 'stopped before the end').to.be.within(42, 59);
    expect(await exited(run(['--resume', runDir(cut)]))).to.equal(0);
    const expected = losses(runDir(whole));
    expect(expected).to.have.length(60);
    expect(losses(runDir(cut))).to.deep.equal(expected);
  });
});
