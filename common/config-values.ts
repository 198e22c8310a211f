/**
 * Keys the default experiment adds to a stored config that are not settings but follow from
 * them (the dataset's size from dx and dy, the parameter count from the widths) or name it.
 */
export const DERIVED_CONFIG_KEYS: readonly string[] = ['datasetSize', 'params', 'runId', 'model'];

/**
 * Nested config objects flattened to dotted keys (`unet.widths`); arrays and scalars are
 * leaves.
 *
 * @example
 * flattenConfig({ steps: 10, unet: { widths: [4, 8] } }) // → { steps: 10, 'unet.widths': [4, 8] }
 */
export function flattenConfig(
  config: Record<string, unknown> | undefined,
  prefix = '',
  out: Record<string, unknown> = {},
): Record<string, unknown> {
  for (const [k, v] of Object.entries(config ?? {})) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      flattenConfig(v as Record<string, unknown>, key, out);
    } else out[key] = v;
  }
  return out;
}

/** A config value as a table shows it: '–' for missing, arrays and objects as JSON. */
export function formatValue(v: unknown): string {
  if (v === undefined) return '–';
  if (typeof v === 'string') return v;
  if (typeof v === 'number')
    return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
  return JSON.stringify(v);
}
