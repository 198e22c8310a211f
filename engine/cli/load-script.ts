import { existsSync } from 'node:fs';
import { register } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../package-root.js';

let shared = false;

/**
 * From now on, a bare import that cannot be resolved from the importing file's directory is
 * resolved from phasewatch's own (engine/cli/resolve-fallback.ts): a script outside any
 * project still finds `phasewatch`, `rxjs` and `@tensorflow/tfjs`, the same copies phasewatch
 * runs with. Idempotent.
 */
export function shareDependencies(): void {
  if (shared) return;
  shared = true;
  register(new URL('./resolve-fallback.js', import.meta.url), {
    data: { parentURL: pathToFileURL(path.join(packageRoot(), 'package.json')).href },
  });
}

/**
 * Imports a user script for `phasewatch run`: TypeScript (.ts, .mts, .cts, .tsx) through
 * tsx's API, so no build step is needed, anything else with `import()`; bare imports fall
 * back to phasewatch's own dependencies (`shareDependencies`).
 * @example const mod = await importScript('examples/custom-metric.ts'); mod.default
 */
export async function importScript(file: string): Promise<Record<string, unknown>> {
  const abs = path.resolve(file);
  if (!existsSync(abs)) throw new Error(`script file "${file}" does not exist`);
  shareDependencies();
  const url = pathToFileURL(abs).href;
  if (/\.[cm]?tsx?$/.test(abs)) {
    const { tsImport } = await import('tsx/esm/api');
    return (await tsImport(url, import.meta.url)) as Record<string, unknown>;
  }
  return (await import(url)) as Record<string, unknown>;
}
