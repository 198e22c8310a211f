import { readRunEvents } from '../../streams/replay.js';
import { readRunMeta, writeFileAtomic } from '../store/run-store.js';
import { scalarSeries, type ScalarPoint } from './scalars.js';

/** A CSV cell: quoted when it holds a comma, quote or line break (RFC 4180). */
function csvCell(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Scalars as long-format CSV: `run_id,step,time,name,value`, time in ISO 8601. */
export function scalarsCsv(runId: string, points: readonly ScalarPoint[]): string {
  const rows = points.map((p) =>
    [
      csvCell(runId),
      String(p.step),
      new Date(p.time).toISOString(),
      csvCell(p.name),
      String(p.value),
    ].join(','),
  );
  return ['run_id,step,time,name,value', ...rows].join('\n') + '\n';
}

/**
 * Writes every scalar of a stored run (`scalarSeries`) to `file` as long-format CSV, one row
 * per value; `pandas.read_csv(file).pivot_table(index='step', columns='name', values='value')`
 * gives one column per series. Returns the number of rows.
 */
export function exportCsv(runDir: string, file: string): number {
  const meta = readRunMeta(runDir);
  const points = scalarSeries(readRunEvents(runDir));
  writeFileAtomic(file, scalarsCsv(meta.runId, points));
  return points.length;
}
