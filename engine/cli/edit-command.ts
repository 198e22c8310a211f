import { parseArgs } from 'node:util';
import { editRunLabels, type RunLabels } from '../store/labels.js';

export const EDIT_USAGE =
  'phasewatch edit <runDir> [--name TEXT] [--tags a,b,c] [--notes TEXT]   change a run’s name, tags or notes (also while it runs)';

/**
 * `phasewatch edit <runDir> --name … --tags … --notes …`: changes a stored or live run's
 * labels; prints the run's labels as they now read. Returns the exit code.
 */
export function editCommand(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { name: { type: 'string' }, tags: { type: 'string' }, notes: { type: 'string' } },
  });
  if (positionals.length !== 1) {
    throw new Error(
      `edit takes one run directory (got ${positionals.length}); usage: ${EDIT_USAGE}`,
    );
  }
  const patch: RunLabels = {};
  if (values.name !== undefined) patch.name = values.name;
  if (values.notes !== undefined) patch.notes = values.notes;
  if (values.tags !== undefined) {
    patch.tags = values.tags
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t !== '');
  }
  if (Object.keys(patch).length === 0) {
    throw new Error(`edit needs at least one of --name, --tags, --notes; usage: ${EDIT_USAGE}`);
  }
  const meta = editRunLabels(positionals[0], patch);
  const tags = meta.tags?.length ? meta.tags.join(', ') : '-';
  process.stdout.write(
    `${meta.runId}: name ${meta.name ?? '-'}; tags ${tags}; notes ${meta.notes ?? '-'}\n`,
  );
  return 0;
}
