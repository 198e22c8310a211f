/**
 * A module resolution hook (node:module `register`): a bare specifier that a module cannot
 * resolve from its own directory is resolved from phasewatch's package directory instead. So
 * a script anywhere on disk can import `phasewatch`, `rxjs` or `@tensorflow/tfjs` with no
 * node_modules of its own, and gets the very copies phasewatch uses (one rxjs, one tfjs).
 */
interface Resolved {
  url: string;
  format?: string | null;
  shortCircuit?: boolean;
}
interface ResolveContext {
  conditions: string[];
  importAttributes: Record<string, string>;
  parentURL?: string;
}
type NextResolve = (specifier: string, context?: Partial<ResolveContext>) => Promise<Resolved>;

let fallbackParent = '';
let extraConditions: string[] = [];

/**
 * `data.parentURL`: a file URL inside phasewatch's package (its package.json);
 * `data.conditions`: export conditions added to every resolution (from a clone, the
 * `phasewatch-source` condition, so a script's `import … from 'phasewatch'` gets the very
 * sources the CLI runs, not a build in dist/ that may be stale).
 */
export function initialize(data: { parentURL: string; conditions?: string[] }): void {
  fallbackParent = data.parentURL;
  extraConditions = data.conditions ?? [];
}

function isBare(specifier: string): boolean {
  return !/^(\.{0,2}\/|[a-z][a-z0-9+.-]*:)/i.test(specifier);
}

export async function resolve(
  specifier: string,
  context: ResolveContext,
  next: NextResolve,
): Promise<Resolved> {
  const ctx = extraConditions.length
    ? { ...context, conditions: [...context.conditions, ...extraConditions] }
    : context;
  try {
    return await next(specifier, ctx);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (!fallbackParent || !isBare(specifier) || code !== 'ERR_MODULE_NOT_FOUND') throw err;
    return next(specifier, { ...ctx, parentURL: fallbackParent });
  }
}
