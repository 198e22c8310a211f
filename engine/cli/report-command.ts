import { existsSync, mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { readRunEvents } from '../../streams/replay.js';
import { bundleFile, ensureBundle } from '../server/bundle.js';
import { readRunMeta } from '../store/run-store.js';
import { runFigures, sweepFigures, type Figure } from './report-figures.js';
import { MOUNT_SWEEP_VIEW_JS, MOUNT_TIMELINE_JS, REPORT_PAGE_JS } from './report-page.js';

export {
  phaseBands,
  runFigures,
  stepsToPhaseFigure,
  sweepFigures,
  type Figure,
  type FigureSpec,
  type SweepFigureRun,
  type TimelineFigureRun,
} from './report-figures.js';

export const REPORT_USAGE = `usage: phasewatch report <runDir…> --out DIR [--width N] [--height N] [--chromium PATH]
  Renders each run's figures (the dashboard's phase timeline, metrics over steps with the
  phase band, R²x against R²y,
  embeddings and sample grids per phase, its curves) to PNG in DIR/<runId>/; with two or
  more runs also DIR/sweep/ (steps to C against the swept parameter, drawn by the dashboard's
  sweep view; accuracy and R² of every run overlaid).`;

interface ReportArgs {
  runDirs: string[];
  out: string;
  width: number;
  height: number;
  chromium: string;
}

const DEFAULT_CHROMIUM = '/usr/bin/chromium';

/** Parses the arguments after `report`; throws a one-line error naming what is wrong. */
export function parseReportArgs(args: string[]): ReportArgs {
  const runDirs: string[] = [];
  let out: string | undefined;
  let width = 960;
  let height = 540;
  let chromium = process.env.PHASEWATCH_CHROMIUM ?? DEFAULT_CHROMIUM;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const [flag, inline] = a.startsWith('--') ? a.split(/=(.*)/s, 2) : [a, undefined];
    const value = (what: string): string => {
      if (inline !== undefined) return inline;
      const next = args[i + 1];
      if (next === undefined || next.startsWith('--'))
        throw new Error(`${flag} needs a value (${what})`);
      i++;
      return next;
    };
    const pixels = (text: string): number => {
      const n = Number(text);
      if (!Number.isInteger(n) || n < 200 || n > 4000) {
        throw new Error(`${flag} must be an integer from 200 to 4000 pixels (got ${text})`);
      }
      return n;
    };
    if (flag === '--out') out = value('a directory');
    else if (flag === '--width') width = pixels(value('pixels'));
    else if (flag === '--height') height = pixels(value('pixels'));
    else if (flag === '--chromium') chromium = value('the chromium executable');
    else if (a.startsWith('-')) {
      throw new Error(
        `unknown option ${flag} (accepted: --out DIR, --width N, --height N, --chromium PATH)`,
      );
    } else runDirs.push(a);
  }
  if (runDirs.length === 0) throw new Error('report needs at least one runDir');
  for (const d of runDirs) {
    if (!existsSync(join(d, 'meta.json'))) {
      throw new Error(`runDir "${d}" is not a phasewatch run (no meta.json)`);
    }
  }
  if (!out) throw new Error('report needs --out DIR (where the PNGs go)');
  return { runDirs, out, width, height, chromium };
}

/**
 * Renders figures to PNG files in headless chromium; returns the files written. A figure drawn
 * by a dashboard view reports what it drew (the sweep view its points, the timeline its bands)
 * in `opts.drawn`, by file.
 */
export async function renderFigures(
  figures: Figure[],
  opts: {
    out: string;
    width: number;
    height: number;
    chromium?: string;
    drawn?: Map<string, string>;
  },
): Promise<string[]> {
  const chromiumPath = opts.chromium ?? DEFAULT_CHROMIUM;
  if (!existsSync(chromiumPath)) {
    throw new Error(
      `chromium not found at ${chromiumPath}; pass --chromium PATH or set PHASEWATCH_CHROMIUM`,
    );
  }
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  const written: string[] = [];
  try {
    const page = await browser.newPage({
      viewport: { width: opts.width + 40, height: opts.height + 40 },
      deviceScaleFactor: 1,
    });
    await page.setContent(
      '<!doctype html><html><body style="margin:0;background:#fff"><div id="figure"></div></body></html>',
    );
    // chart.js exports only its modules; its UMD build sits beside the CommonJS entry
    const chartJs = join(
      dirname(createRequire(import.meta.url).resolve('chart.js')),
      'chart.umd.js',
    );
    await page.addScriptTag({ path: chartJs });
    await page.addScriptTag({ content: REPORT_PAGE_JS });
    let dashboard = false;
    for (const f of figures) {
      const spec = { ...f.spec, width: opts.width, height: opts.height };
      if (spec.kind === 'sweep-view' || spec.kind === 'phase-timeline') {
        if (!dashboard) {
          await ensureBundle();
          await page.addScriptTag({ path: bundleFile, type: 'module' });
          await page.addScriptTag({ content: MOUNT_SWEEP_VIEW_JS });
          await page.addScriptTag({ content: MOUNT_TIMELINE_JS });
          dashboard = true;
        }
        // the dashboard's own view, mounted from its bundle
        const mount = spec.kind === 'sweep-view' ? 'mountSweepView' : 'mountTimeline';
        const drawn = await page.evaluate(
          ([name, s]) =>
            (globalThis as unknown as Record<string, (x: unknown) => Promise<string>>)[name](s),
          [mount, spec] as const,
        );
        opts.drawn?.set(f.file, drawn);
      } else {
        await page.evaluate(
          (s) => (globalThis as unknown as { renderFigure(x: unknown): boolean }).renderFigure(s),
          spec,
        );
      }
      const file = join(opts.out, f.file);
      mkdirSync(resolve(file, '..'), { recursive: true });
      await page.locator('#figure').screenshot({ path: file });
      written.push(file);
    }
  } finally {
    await browser.close();
  }
  return written;
}

/**
 * `phasewatch report <runDir…> --out DIR`: renders the figures of stored runs (and, for two or
 * more, of the sweep they form) to PNG in headless chromium. Prints each file; returns the exit
 * code (2: bad arguments, 1: rendering failed).
 */
export async function reportCommand(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${REPORT_USAGE}\n`);
    return 0;
  }
  let parsed: ReportArgs;
  try {
    parsed = parseReportArgs(args);
  } catch (err) {
    process.stderr.write(`phasewatch report: ${(err as Error).message}\n${REPORT_USAGE}\n`);
    return 2;
  }
  try {
    if (existsSync(parsed.out) && !statSync(parsed.out).isDirectory()) {
      throw new Error(`--out ${parsed.out} is a file, not a directory`);
    }
    const runs = parsed.runDirs.map((d) => ({ meta: readRunMeta(d), events: readRunEvents(d) }));
    const figures = [...runs.flatMap(runFigures), ...(runs.length > 1 ? sweepFigures(runs) : [])];
    if (figures.length === 0) {
      throw new Error(
        `nothing to draw: ${parsed.runDirs.map((d) => basename(d)).join(', ')} hold no metrics, assessments or curves`,
      );
    }
    const files = await renderFigures(figures, parsed);
    for (const f of files) process.stdout.write(`${f}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`phasewatch report: ${(err as Error).message}\n`);
    return 1;
  }
}
