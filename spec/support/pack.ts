import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const exec = promisify(execFile);

/** The repository (a clone of phasewatch). */
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The environment without what an enclosing `npm test` exports (npm_lifecycle_*,
 * npm_package_*, npm_config_local_prefix, …), so the npm commands of a spec act on their own
 * directories; npm's cache and registry settings are kept.
 */
export const npmEnv: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([k]) => !/^npm_/i.test(k) || /^npm_config_(cache|registry|userconfig)$/i.test(k),
  ),
);

/** What `npm pack --json` says of the tarball. */
export interface Packed {
  filename: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
  files: { path: string }[];
}

let packing: Promise<{ tarball: string; packed: Packed }> | undefined;

/**
 * `npm pack` of the repository, once per test process: the specs that install the package
 * share one tarball (packing runs `prepare`: the library build and the dashboard bundle). It
 * lies in a temp dir removed when the process exits.
 */
export function packOnce(): Promise<{ tarball: string; packed: Packed }> {
  packing ??= (async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'phasewatch-pack-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const { stdout } = await exec('npm', ['pack', '--json', '--pack-destination', dir], {
      cwd: repoRoot,
      env: npmEnv,
      maxBuffer: 1 << 26,
    });
    const [packed] = JSON.parse(stdout) as Packed[];
    return { tarball: path.join(dir, packed.filename), packed };
  })();
  return packing;
}
