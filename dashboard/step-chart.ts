import { LitElement, css } from 'lit';
import { property, query } from 'lit/decorators.js';
import type { Chart } from 'chart.js';
import type { Point } from './decimate.js';
import { attachRangeGestures } from './line-chart.js';
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
