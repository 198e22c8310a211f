import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/**
 * phasewatch's package directory: the nearest directory above this module whose package.json
 * is phasewatch's. The same from the TypeScript sources and from the build in dist/, so files
 * beside the code (the addon, the dashboard) are found from either.
 * @example path.join(packageRoot(), 'dashboard', 'index.html')
 */
export function packageRoot(): string {
  if (root) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        if ((JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown }).name === 'phasewatch') {
          root = dir;
          return dir;
        }
      } catch {
        // An unreadable package.json is not ours; keep going up.
      }
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error('phasewatch: cannot find its own package.json');
    dir = up;
  }
}
