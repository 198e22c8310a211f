import {
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { packageRoot } from '../runtime/package-root.js';

// The same directory from the sources and from the build in dist/.
const root = packageRoot();
/** The dashboard sources; `dist/` beneath it is built, never committed. */
export const dashboardDir = join(root, 'dashboard');
export const bundleFile = join(dashboardDir, 'dist', 'app.js');
const entry = join(dashboardDir, 'main.ts');
/** The browser-safe code the dashboard shares with Node (phase bands, colours, swept keys). */
const commonDir = join(root, 'common');
// The bundle also compiles in the wire types and the event union.
const inputs = [join(root, 'streams', 'protocol.ts'), join(root, 'streams', 'events.ts')];

function newestSource(dir: string): number {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** True when `dashboard/dist/app.js` is missing or older than a source it is built from. */
export function bundleIsStale(): boolean {
  if (!existsSync(bundleFile)) return true;
  // An installed package ships the built bundle and not the sources it is built from.
  if (!existsSync(entry)) return false;
  const built = statSync(bundleFile).mtimeMs;
  const newest = Math.max(
    newestSource(dashboardDir),
    newestSource(commonDir),
    ...inputs.map((f) => statSync(f).mtimeMs),
  );
  return newest > built;
}

let building: Promise<void> | null = null;

/**
 * Builds the dashboard bundle with esbuild when it is missing or stale, so a fresh clone
 * serves the dashboard with no manual step. Concurrent callers share one build, and the file
 * is replaced whole, so a server in another process never serves half a bundle.
 */
export function ensureBundle(): Promise<void> {
  if (!bundleIsStale()) return Promise.resolve();
  building ??= build().finally(() => {
    building = null;
  });
  return building;
}

async function build(): Promise<void> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    write: false,
    outfile: bundleFile,
    // experimentalDecorators / useDefineForClassFields come from here; Lit needs both.
    tsconfig: join(root, 'tsconfig.json'),
    logLevel: 'silent',
  });
  mkdirSync(dirname(bundleFile), { recursive: true });
  for (const file of result.outputFiles) {
    const tmp = `${file.path}.tmp-${process.pid}`;
    try {
      writeFileSync(tmp, file.contents);
      renameSync(tmp, file.path);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
  }
}
