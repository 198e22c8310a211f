import { LitElement, css } from 'lit';
import { property, query } from 'lit/decorators.js';
import type { Chart } from 'chart.js';
import { decimateMinMax, type Point } from './decimate.js';
import { attachRangeGestures, type LineDataset } from './line-chart.js';
import { smoothEma } from './smoothing.js';
import { withAlpha } from './theme.js';
import type { RunSeries } from './run-state.js';
import type { StepRange } from './view-range.js';

/** The chart's box; Chart.js sizes the canvas to it. */
export const chartBoxStyles = css`
  .box {
    position: relative;
    height: 240px;
  }
`;

/**
 * What the loss and metric charts share: the selected runs' series on a step axis whose
 * range (zoom and pan) lives in the app, a canvas with its Chart.js chart, and the gestures
 * that change the range.
 */
export abstract class StepChart extends LitElement {
  @property({ attribute: false }) series: RunSeries[] = [];
  @property({ attribute: false }) range: StepRange = null;
  @property({ type: Number }) revision = 0;
  @query('canvas') protected canvas!: HTMLCanvasElement;
  protected chart?: Chart<'line', Point[]>;

  /** The furthest step any shown run has reached. */
  protected get lastStep(): number {
    return Math.max(0, ...this.series.map((s) => s.lastStep));
  }

  override firstUpdated(): void {
    attachRangeGestures(
      this,
      this.canvas,
      () => this.chart,
      () => ({ range: this.range, lastStep: Math.max(1, this.lastStep) }),
    );
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.chart?.destroy();
    this.chart = undefined;
  }
}

/** One run's line as the step charts draw it. */
export interface RunLine {
  label: string;
  steps: ArrayLike<number>;
  values: ArrayLike<number>;
  color: string;
  /** TensorBoard-style smoothing weight in [0, 1); 0 draws the raw line alone. */
  smoothing: number;
  /** Min/max buckets, and the step range drawn. */
  buckets: number;
  from: number;
  to: number;
  /** Draw each point (a line of few points): set on the raw line, and on an unsmoothed one. */
  dots?: boolean;
}

/**
 * Adds a run's line to `datasets`, min/max-decimated: with smoothing, the smoothed line over
 * the raw one drawn faint, whose index goes into `raw` (the legend leaves those out).
 */
export function pushRunLine(datasets: LineDataset[], raw: Set<number>, l: RunLine): void {
  const smoothed = l.smoothing > 0 ? smoothEma(l.values, l.smoothing) : null;
  const dots = (on: boolean) => (l.dots === undefined ? {} : { pointRadius: on ? 2 : 0 });
  datasets.push({
    label: l.label,
    data: decimateMinMax(l.steps, smoothed ?? l.values, l.buckets, l.from, l.to),
    borderColor: l.color,
    backgroundColor: l.color,
    ...dots(l.dots === true && !smoothed),
  });
  if (!smoothed) return;
  raw.add(datasets.length);
  datasets.push({
    label: `${l.label} (raw)`,
    data: decimateMinMax(l.steps, l.values, l.buckets, l.from, l.to),
    borderColor: withAlpha(l.color, 0.25),
    backgroundColor: withAlpha(l.color, 0.25),
    borderWidth: 1,
    ...dots(l.dots === true),
  });
}
