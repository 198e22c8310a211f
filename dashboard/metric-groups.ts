/** The group a name belongs to: what comes before its first `/`, or '' for none. */
export function namePrefix(name: string): string {
  const at = name.indexOf('/');
  return at > 0 ? name.slice(0, at) : '';
}

export interface NameGroup {
  /** '' for names without a `/`. */
  prefix: string;
  names: string[];
}

/**
 * Groups names into panels by prefix, as W&B and TensorBoard do: names without a prefix
 * first, then the groups alphabetically; names sorted within each group.
 *
 * @example
 * groupByPrefix(['probe/acc', 'lr', 'probe/loss'])
 * // → [{ prefix: '', names: ['lr'] }, { prefix: 'probe', names: ['probe/acc', 'probe/loss'] }]
 */
export function groupByPrefix(names: Iterable<string>): NameGroup[] {
  const groups = new Map<string, Set<string>>();
  for (const name of names) {
    const prefix = namePrefix(name);
    let g = groups.get(prefix);
    if (!g) groups.set(prefix, (g = new Set()));
    g.add(name);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b)))
    .map(([prefix, set]) => ({ prefix, names: [...set].sort((a, b) => a.localeCompare(b)) }));
}

/**
 * True when `name` holds every whitespace-separated term of `query`, ignoring case; an empty
 * query matches everything. A term starting with `-` excludes names holding the rest.
 *
 * @example
 * matchesQuery('custom/border-fraction', 'border') // → true
 * matchesQuery('phase/r2x', 'phase -r2')           // → false
 */
export function matchesQuery(name: string, query: string): boolean {
  const lower = name.toLowerCase();
  for (const term of query.toLowerCase().split(/\s+/)) {
    if (!term || term === '-') continue;
    if (term.startsWith('-') ? lower.includes(term.slice(1)) : !lower.includes(term)) return false;
  }
  return true;
}
