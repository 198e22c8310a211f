import type {
  AlertEvent,
  AssessmentEvent,
  Phase,
  PhaseEvent,
  RunEvent,
  RunMeta,
} from '../../streams/events.js';
import { PHASE_COLORS, colormap } from '../../common/colours.js';
import { phaseSegments } from '../../common/phase-bands.js';
import { sweptKeys } from '../../common/sweep-keys.js';

/**
 * What `phasewatch report` draws of stored runs, as figure specs the report page renders
 * (report-page.ts): no files, no browser.
 */

/** A figure the page draws (see report-page.ts). */
export type FigureSpec =
  | {
      kind: 'lines';
      title: string;
      xLabel?: string;
      yLabel?: string;
      series: { label: string; points: [number, number][]; colour?: string }[];
      bands?: { from: number; to: number; phase: Phase }[];
      showLine?: boolean;
      pointRadius?: number;
      yMin?: number;
      yMax?: number;
      logX?: boolean;
    }
  | {
      /** The dashboard's sweep view itself, as a figure (drawn from its bundle). */
      kind: 'sweep-view';
      title: string;
      /** The swept key on x and the y choice (`phase:C`), as the view takes them. */
      x: string;
      y: string;
      runs: SweepFigureRun[];
    }
  | {
      /** The dashboard's phase timeline itself (from its bundle); as tall as its rows need. */
      kind: 'phase-timeline';
      title: string;
      runs: TimelineFigureRun[];
    }
  | {
      kind: 'embeddings';
      title: string;
      /** Each point's colour: label x on the dashboard's continuous scale. */
      panels: { title: string; points: [number, number][]; colours: string[] }[];
    }
  | {
      kind: 'samples';
      title: string;
      rows: {
        title: string;
        phase: Phase;
        thumbs: { pixels: number[]; label: [number, number]; found?: [number, number] }[];
      }[];
    };

/** What the sweep view needs of a stored run: plain JSON, to hand to the page. */
export interface SweepFigureRun {
  meta: RunMeta;
  lastStep: number;
  ended: boolean;
  phases: { to: Phase; step: number }[];
  metrics: Record<string, { steps: number[]; values: number[] }>;
}

/** What the phase timeline needs of a stored run: plain JSON, to hand to the page. */
export interface TimelineFigureRun {
  runId: string;
  name?: string;
  lastStep: number;
  assessments: Pick<AssessmentEvent, 'step' | 'phase' | 'evidence' | 'warning'>[];
  phases: Pick<PhaseEvent, 'step' | 'from' | 'to' | 'evidence'>[];
  alerts: Pick<AlertEvent, 'step' | 'level' | 'message'>[];
}

/** A figure to write: its file, relative to the output dir, and what it shows. */
export interface Figure {
  file: string;
  spec: FigureSpec;
}

/** A stored run as the report reads it. */
export interface LoadedRun {
  meta: RunMeta;
  events: RunEvent[];
}

function metricSeries(events: RunEvent[], name: string): [number, number][] {
  return events.flatMap((e) =>
    e.type === 'metric' && e.name === name && Number.isFinite(e.value)
      ? [[e.step, e.value] as [number, number]]
      : [],
  );
}

/**
 * Confirmed phase over steps as bands, the dashboard's timeline's own (`phaseSegments`): each
 * assessment's phase holds from its step to the next one's, the last to the run's last step.
 */
export function phaseBands(events: RunEvent[]): { from: number; to: number; phase: Phase }[] {
  const assessments = events.filter((e): e is AssessmentEvent => e.type === 'assessment');
  const lastStep = events.reduce((m, e) => Math.max(m, e.step), 0);
  return phaseSegments(assessments, lastStep).map(({ phase, from, to }) => ({ phase, from, to }));
}

/** Values on the dashboard's continuous colour scale, stretched over their range. */
function continuousColours(values: number[]): string[] {
  const lo = Math.min(...values);
  const span = Math.max(...values) - lo || 1;
  return values.map((v) => colormap((v - lo) / span));
}

/** The last assessment of each confirmed phase. */
function lastPerPhase(events: RunEvent[]): AssessmentEvent[] {
  const byPhase = new Map<Phase, AssessmentEvent>();
  for (const e of events) if (e.type === 'assessment' && !e.warning) byPhase.set(e.phase, e);
  return (['A', 'B', 'C'] as Phase[]).flatMap((p) => {
    const a = byPhase.get(p);
    return a ? [a] : [];
  });
}

/** The figures of one stored run. */
export function runFigures(run: LoadedRun): Figure[] {
  const { meta, events } = run;
  const id = meta.runId;
  const figs: Figure[] = [];
  // a long name would not fit a chart title
  const name = meta.name && meta.name.length + id.length <= 48 ? `${meta.name} (${id})` : id;
  const bands = phaseBands(events);
  const timeline = timelineRun(run);
  if (timeline.assessments.length > 0) {
    figs.push({
      file: `${id}/timeline.png`,
      spec: { kind: 'phase-timeline', title: `${name}: phase timeline`, runs: [timeline] },
    });
  }
  const phaseMetrics = ['phase/accuracy', 'phase/one-bump', 'phase/r2x', 'phase/r2y'];
  let metricNames = phaseMetrics.filter((m) => metricSeries(events, m).length > 0);
  const others = [...new Set(events.flatMap((e) => (e.type === 'metric' ? [e.name] : [])))].filter(
    (n) => !n.startsWith('phase/') && !n.startsWith('evidence/'),
  );
  if (metricNames.length === 0) metricNames = others.slice(0, 8);
  if (metricNames.length > 0) {
    figs.push({
      file: `${id}/metrics.png`,
      spec: {
        kind: 'lines',
        title: `${name}: metrics over steps${bands.length ? ' (band: confirmed phase)' : ''}`,
        xLabel: 'step',
        series: metricNames.map((m) => ({ label: m, points: metricSeries(events, m) })),
        bands,
      },
    });
  }
  const extra = others.filter((n) => !metricNames.includes(n));
  if (extra.length > 0 && metricNames.length > 0 && metricNames[0].startsWith('phase/')) {
    figs.push({
      file: `${id}/metrics-other.png`,
      spec: {
        kind: 'lines',
        title: `${name}: other metrics`,
        xLabel: 'step',
        series: extra.slice(0, 10).map((m) => ({ label: m, points: metricSeries(events, m) })),
        bands,
      },
    });
  }
  const assessments = events.filter((e): e is AssessmentEvent => e.type === 'assessment');
  if (assessments.length > 0) {
    figs.push({
      file: `${id}/r2x-r2y.png`,
      spec: {
        kind: 'lines',
        title: `${name}: R²x against R²y, one point per snapshot`,
        xLabel: 'R²x',
        yLabel: 'R²y',
        showLine: false,
        pointRadius: 5,
        series: (['A', 'B', 'C'] as Phase[])
          .map((p) => ({
            label: `phase ${p}`,
            colour: PHASE_COLORS[p],
            points: assessments
              .filter((a) => a.phase === p)
              .map((a) => [a.r2.x, a.r2.y] as [number, number]),
          }))
          .filter((s) => s.points.length > 0),
      },
    });
    const per = lastPerPhase(events);
    figs.push({
      file: `${id}/embeddings.png`,
      spec: {
        kind: 'embeddings',
        title: `${name}: embeddings per phase`,
        panels: per.map((a) => {
          const n = Math.floor(a.embedding.length / 3);
          return {
            title: `phase ${a.phase}, step ${a.step} (colour: label x)`,
            points: Array.from(
              { length: n },
              (_, i) => [a.embedding[3 * i], a.embedding[3 * i + 1]] as [number, number],
            ),
            colours: continuousColours(Array.from({ length: n }, (_, i) => a.labels[2 * i] ?? 0)),
          };
        }),
      },
    });
    figs.push({
      file: `${id}/samples.png`,
      spec: {
        kind: 'samples',
        title: `${name}: samples per phase (cyan +: label, red o: bump found)`,
        rows: per.map((a) => ({
          title: `phase ${a.phase}, step ${a.step}: accuracy ${a.accuracy.toFixed(2)}, one bump ${a.bumps.one.toFixed(2)}`,
          phase: a.phase,
          thumbs: a.samples.slice(0, 12).map((s) => ({
            pixels: s.pixels,
            label: s.label,
            found:
              s.located.count >= 1 ? ([s.located.x, s.located.y] as [number, number]) : undefined,
          })),
        })),
      },
    });
  }
  // curve events: the latest of each name (summary runs keep theirs here)
  const curves = new Map<string, Extract<RunEvent, { type: 'curve' }>>();
  for (const e of events) if (e.type === 'curve') curves.set(e.name, e);
  const groups = new Map<string, Extract<RunEvent, { type: 'curve' }>[]>();
  for (const c of curves.values()) {
    const g = c.name.split('@')[0];
    groups.set(g, [...(groups.get(g) ?? []), c]);
  }
  for (const [g, list] of groups) {
    figs.push({
      file: `${id}/curve-${g.replace(/[^\w.-]+/g, '_')}.png`,
      spec: {
        kind: 'lines',
        title: `${name}: ${g}`,
        xLabel: list[0].xLabel,
        yLabel: list[0].yLabel,
        series: list.map((c) => ({
          label: c.name.includes('@') ? c.name.split('@')[1] : c.name,
          points: c.x.map((x, i) => [x, c.y[i]] as [number, number]),
        })),
      },
    });
  }
  return figs;
}

/** A stored run as the dashboard's phase timeline reads it. */
function timelineRun({ meta, events }: LoadedRun): TimelineFigureRun {
  const out: TimelineFigureRun = {
    runId: meta.runId,
    name: meta.name,
    lastStep: events.reduce((m, e) => Math.max(m, e.step), 0),
    assessments: [],
    phases: [],
    alerts: [],
  };
  for (const e of events) {
    if (e.type === 'assessment') {
      const { step, phase, evidence, warning } = e;
      out.assessments.push({ step, phase, evidence, ...(warning ? { warning } : {}) });
    } else if (e.type === 'phase') {
      out.phases.push({ step: e.step, from: e.from, to: e.to, evidence: e.evidence });
    } else if (e.type === 'alert') {
      out.alerts.push({ step: e.step, level: e.level, message: e.message });
    }
  }
  return out;
}

/** A stored run as the dashboard's sweep view reads it: its phases, metrics and last step. */
function sweepFigureRun(run: LoadedRun): SweepFigureRun {
  const metrics: SweepFigureRun['metrics'] = {};
  let lastStep = 0;
  const phases: SweepFigureRun['phases'] = [];
  let ended = false;
  for (const e of run.events) {
    lastStep = Math.max(lastStep, e.step);
    if (e.type === 'phase') phases.push({ to: e.to, step: e.step });
    else if (e.type === 'run-end') ended = true;
    else if (e.type === 'metric') {
      const m = (metrics[e.name] ??= { steps: [], values: [] });
      m.steps.push(e.step);
      m.values.push(e.value);
    }
  }
  return { meta: run.meta, lastStep, ended, phases, metrics };
}

/**
 * Steps to a phase against the swept parameter, drawn by the dashboard's sweep view itself:
 * the first config key the runs differ in (a sweep's point keys first), one point per run —
 * hollow where a run ended without the phase, at its last step; × where it skipped it — and
 * the median and spread per value. Undefined when the runs do not differ in any key.
 */
export function stepsToPhaseFigure(runs: LoadedRun[], phase: Phase = 'C'): Figure | undefined {
  const key = sweptKeys(runs.map((r) => ({ config: r.meta.config, name: r.meta.name })))[0];
  if (key === undefined) return undefined;
  return {
    file: `sweep/steps-to-${phase}.png`,
    spec: {
      kind: 'sweep-view',
      title: `steps to phase ${phase} against ${key}`,
      x: key,
      y: `phase:${phase}`,
      runs: runs.map(sweepFigureRun),
    },
  };
}

/** The figures comparing several runs: steps to C against the swept parameter, accuracy and R² overlaid. */
export function sweepFigures(runs: LoadedRun[]): Figure[] {
  const figs: Figure[] = [];
  const label = (r: LoadedRun): string => {
    const c = r.meta.config;
    const parts = ['dx', 'dy', 'seed', 'posEncoding'].flatMap((k) =>
      typeof c[k] === 'number' || typeof c[k] === 'string' ? [`${k} ${c[k]}`] : [],
    );
    return parts.length ? parts.join(', ') : r.meta.runId;
  };
  const toC = stepsToPhaseFigure(runs, 'C');
  if (toC) figs.push(toC);
  for (const [metric, title, fileName] of [
    ['phase/accuracy', 'accuracy', 'accuracy'],
    ['phase/r2', 'mean R²', 'r2'],
  ] as const) {
    const series = runs
      .map((r) => ({ label: label(r), points: metricSeries(r.events, metric) }))
      .filter((s) => s.points.length > 0);
    if (series.length > 0) {
      figs.push({
        file: `sweep/${fileName}.png`,
        spec: {
          kind: 'lines',
          title: `${title} of every run`,
          xLabel: 'step',
          yLabel: metric,
          series,
          pointRadius: 1,
        },
      });
    }
  }
  return figs;
}
