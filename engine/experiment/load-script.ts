import { existsSync } from 'node:fs';
import Module, { createRequire, register } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../runtime/package-root.js';

let shared = false;

/** node:module's CommonJS resolver (not in its public types). */
type ResolveFilename = (
  request: string,
  parent: unknown,
  isMain: boolean,
  options?: unknown,
) => string;

function isBare(specifier: string): boolean {
  return !/^(\.{0,2}\/|[a-z][a-z0-9+.-]*:|node:)/i.test(specifier) && !path.isAbsolute(specifier);
}

/**
 * From now on, a bare import that cannot be resolved from the importing file's directory is
 * resolved from phasewatch's own: a script outside any project still finds `phasewatch`,
 * `rxjs` and `@tensorflow/tfjs`, the same copies phasewatch runs with. ES modules go through a
 * resolve hook (engine/experiment/resolve-fallback.ts); a .ts script with no package.json around it
 * is CommonJS to tsx, so `require` falls back the same way. Idempotent.
 */
export function shareDependencies(): void {
  if (shared) return;
  shared = true;
  const root = packageRoot();
  const manifest = path.join(root, 'package.json');
  // From a clone this module is TypeScript (run through tsx, registered for the whole process
  // by bin.js or `--import tsx`, which also loads the hook's .ts for this .js): scripts then
  // import phasewatch's sources too (one copy of every module, never a stale dist/).
  const fromSources = import.meta.url.endsWith('.ts');
  register(new URL('./resolve-fallback.js', import.meta.url), {
    data: {
      parentURL: pathToFileURL(manifest).href,
      conditions: fromSources ? ['phasewatch-source'] : [],
    },
  });
  const fromHere = createRequire(manifest);
  const cjs = Module as unknown as { _resolveFilename: ResolveFilename };
  const resolveFilename = cjs._resolveFilename;
  cjs._resolveFilename = function (request, parent, isMain, options) {
    try {
      return resolveFilename.call(this, request, parent, isMain, options);
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'MODULE_NOT_FOUND' || !isBare(request)) throw err;
      if (fromSources && request === 'phasewatch') return path.join(root, 'index.ts');
      return fromHere.resolve(request);
    }
  };
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
