import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('./writer-child.ts', import.meta.url));
const root = fileURLToPath(new URL('../../', import.meta.url));

export interface Child {
  proc: ChildProcess;
  /** Resolves when the child printed `line`. */
  printed(line: string): Promise<void>;
  /** Resolves with the exit code or signal. */
  exited: Promise<string>;
}

/** Starts `writer-child.ts` with `args` (see there). */
export function startChild(args: Record<string, unknown>): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(args)], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters: Array<() => void> = [];
  proc.stdout!.on('data', (d) => {
    out += d;
    for (const w of waiters.splice(0)) w();
  });
  proc.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<string>((resolve) =>
    proc.on('exit', (code, signal) => {
      for (const w of waiters.splice(0)) w();
      resolve(
        signal ?? `exit ${code}${err ? `: ${err.trim().split('\n').slice(-3).join(' | ')}` : ''}`,
      );
    }),
  );
  return {
    proc,
    exited,
    printed: (line) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (out.split('\n').includes(line)) resolve();
          else if (proc.exitCode !== null || proc.signalCode !== null) {
            reject(new Error(`child ended before printing "${line}": ${err.trim().slice(-300)}`));
          } else waiters.push(check);
        };
        check();
      }),
  };
}
