/**
 * One line for a failed file operation: `no space left on device (ENOSPC)` for Node's
 * `ENOSPC: no space left on device, write`; any other error's first line as it is.
 *
 * @example ioReason(err); // 'input/output error (EIO)'
 */
export function ioReason(err: unknown): string {
  const message = String(err instanceof Error ? err.message : err).split('\n')[0];
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const m = /^(E[A-Z0-9]+): ([^,]+)(,.*)?$/.exec(message);
  if (typeof code === 'string' && m && m[1] === code) return `${m[2]} (${code})`;
  return message;
}

/** An error saying which write failed and why, in one line: `checkpoint at step 200: no space left on device (ENOSPC)`. */
export function writeError(what: string, err: unknown): Error {
  return new Error(`${what}: ${ioReason(err)}`, { cause: err });
}
