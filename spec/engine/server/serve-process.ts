import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';

/** A `phasewatch serve` in a process of its own, as a user starts it (so it can be killed). */
export interface ServeProcess {
  url: string;
  port: number;
  child: ChildProcess;
  /** Everything it wrote on stderr so far. */
  stderr(): string;
  /** Sends `signal` and waits for the process to end. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** A port free now (for a server that must come back on the same one). */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => done(port));
    });
  });
}

/** Starts `phasewatch serve runsDir --port port --token token` and waits for its URL. */
export function startServe(
  runsDir: string,
  port: number,
  token: string,
  env: Record<string, string> = {},
): Promise<ServeProcess> {
  const child = spawn(
    process.execPath,
    [resolve('engine/cli/bin.js'), 'serve', runsDir, '--port', String(port), '--token', token],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } },
  );
  let seen = '';
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  return new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`serve did not start in 60 s: ${seen}`)), 60_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const m = /dashboard at (\S+)/.exec(seen);
      if (m) {
        clearTimeout(timer);
        done({
          url: m[1],
          port,
          child,
          stderr: () => seen,
          kill: async (signal = 'SIGTERM') => {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal);
            await exited;
          },
        });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`serve exited (${code}) before it served: ${seen}`));
    });
  });
}
