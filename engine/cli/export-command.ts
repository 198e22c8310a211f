import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { exportCsv } from '../export/csv.js';
import { exportTensorBoard } from '../export/tensorboard.js';
import { readRunMeta } from '../store/run-store.js';

export const EXPORT_USAGE = `usage: phasewatch export <runDir> --tensorboard <dir>
       phasewatch export <runDir> --csv [file]        (default file: <runId>.csv)`;

interface ExportArgs {
  runDir: string;
  tensorboard?: string;
  csv?: string;
}

/** Parses the arguments after `export`; throws a one-line error naming what is wrong. */
function parseExportArgs(args: string[]): ExportArgs {
  const positionals: string[] = [];
  const out: Partial<ExportArgs> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const [flag, inline] = a.startsWith('--') ? a.split(/=(.*)/s, 2) : [a, undefined];
    const value = (optional: boolean): string | undefined => {
      if (inline !== undefined) return inline;
      const next = args[i + 1];
      if (next !== undefined && !next.startsWith('--')) return args[++i];
      if (optional) return undefined;
      throw new Error(`${flag} needs a value (a directory)`);
    };
    if (flag === '--tensorboard') out.tensorboard = value(false);
    else if (flag === '--csv') out.csv = value(true) ?? '';
    else if (flag === '--parquet') {
      throw new Error(
        '--parquet is not supported: no pure-JS Parquet writer is installed; use --csv (pandas.read_csv reads it)',
      );
    } else if (a.startsWith('-')) {
      throw new Error(`unknown option ${flag} (accepted: --tensorboard <dir>, --csv [file])`);
    } else positionals.push(a);
  }
  if (positionals.length !== 1) {
    throw new Error(
      `export takes one runDir (got ${positionals.length}: ${positionals.join(' ')})`,
    );
  }
  if (out.tensorboard === undefined && out.csv === undefined) {
    throw new Error('export needs --tensorboard <dir> or --csv [file]');
  }
  return { runDir: positionals[0], ...out };
}

/**
 * `phasewatch export <runDir> --tensorboard <dir> | --csv [file]`: writes a stored run for
 * TensorBoard (scalars and projector embeddings, into `<dir>/<runId>/`) and/or as CSV.
 * Prints what it wrote; returns the exit code (2: bad arguments, 1: the export failed).
 */
export function exportCommand(args: string[]): Promise<number> {
  return Promise.resolve(runExport(args));
}

function runExport(args: string[]): number {
  let parsed: ExportArgs;
  try {
    if (args.includes('--help') || args.includes('-h')) {
      process.stdout.write(`${EXPORT_USAGE}\n`);
      return 0;
    }
    parsed = parseExportArgs(args);
  } catch (err) {
    process.stderr.write(`phasewatch export: ${(err as Error).message}\n${EXPORT_USAGE}\n`);
    return 2;
  }
  try {
    const runDir = resolve(parsed.runDir);
    if (!existsSync(runDir)) throw new Error(`runDir "${parsed.runDir}" does not exist`);
    const meta = readRunMeta(runDir);
    if (parsed.tensorboard !== undefined) {
      const r = exportTensorBoard(runDir, parsed.tensorboard);
      process.stdout.write(
        `phasewatch: ${r.scalars} scalars, ${r.images} image grids and ${r.embeddings} embeddings in ${r.dir}` +
          ` (tensorboard --logdir ${parsed.tensorboard})\n`,
      );
    }
    if (parsed.csv !== undefined) {
      const file = parsed.csv === '' ? `${basename(meta.runId)}.csv` : parsed.csv;
      const rows = exportCsv(runDir, file);
      process.stdout.write(`phasewatch: ${rows} rows in ${file}\n`);
    }
    return 0;
  } catch (err) {
    process.stderr.write(`phasewatch export: ${(err as Error).message.split('\n')[0]}\n`);
    return 1;
  }
}
