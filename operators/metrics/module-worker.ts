import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

// An eval'd bootstrap loads the worker's module, first registering tsx's loader when it is
// TypeScript (workers do not inherit the main thread's).
const BOOT = `
const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsx) (await import(workerData.tsx)).register();
  await import(workerData.url);
})();
`;

const require = createRequire(import.meta.url);

/** The file URL of tsx's ESM API (its package's `./esm/api` import entry). */
function tsxEsmApi(): string {
  const pkgPath = require.resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as {
    exports: Record<string, { import: { default: string } }>;
  };
  return pathToFileURL(path.join(path.dirname(pkgPath), pkg.exports['./esm/api'].import.default))
    .href;
}

/**
 * A worker thread running the module `name` beside the caller (`from`: its `import.meta.url`):
 * `name.ts` through tsx in the repository, `name.js` once built. Throws when none can start.
 * @example const w = moduleWorker('./umap-worker', import.meta.url);
 */
export function moduleWorker(name: string, from: string): Worker {
  const ext = from.endsWith('.ts') ? '.ts' : '.js';
  const url = new URL(`${name}${ext}`, from).href;
  const tsx = ext === '.ts' ? tsxEsmApi() : null;
  return new Worker(BOOT, { eval: true, workerData: { url, tsx } });
}
