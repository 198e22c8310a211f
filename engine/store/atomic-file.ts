import { renameSync, rmSync, writeFileSync } from 'node:fs';

let tmpCounter = 0;

/**
 * A fresh temporary name beside `file` (same directory, so renaming it over `file` is atomic),
 * unique within this process.
 */
export function tempPathFor(file: string): string {
  return `${file}.tmp-${process.pid}-${tmpCounter++}`;
}

/**
 * Writes a file whole or not at all: readers never see a half-written file, and a failed
 * write (disk full) leaves no temporary file behind.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const tmp = tempPathFor(file);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
