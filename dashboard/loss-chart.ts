import { html, type PropertyValues } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { createLineChart, redraw, type LineDataset } from './line-chart.js';
import { seriesTitle } from './run-state.js';
import { chartBoxStyles, pushRunLine, StepChart } from './step-chart.js';
import { panelStyles, runColor } from './theme.js';

/**
 * Loss over steps for each selected run, min/max-decimated to the pixels it has; with
 * smoothing, the smoothed line over the raw one drawn faint.
 */
@customElement('loss-chart')
export class LossChart extends StepChart {
  static override styles = [panelStyles, chartBoxStyles];

  /** TensorBoard-style smoothing weight in [0, 1). */
  @property({ type: Number }) smoothing = 0;

  override render() {
    const points = this.series.reduce((n, s) => n + s.steps.length, 0);
    const dropped = this.series.reduce((n, s) => n + s.dropped, 0);
    return html`<div class="panel">
      <h2>
        Loss
        <span class="aside">
          ${points.toLocaleString()} steps${dropped ? ` · ${dropped} dropped (slow link)` : ''} ·
          wheel to zoom, drag to pan, double-click to reset
        </span>
      </h2>
      <div class="box"><canvas></canvas></div>
    </div>`;
  }

  override updated(_changed: PropertyValues): void {
    this.chart ??= createLineChart(this.canvas, { type: 'logarithmic', title: 'loss' });
    // One min/max bucket per 2 px: spikes and dips survive, and a page-wide chart of a long
    // run draws no more points than it can show.
    const width = this.chart.chartArea?.width ?? this.canvas.width;
    const buckets = Math.max(50, Math.round(width / 2));
    const [from, to] = this.range ?? [-Infinity, Infinity];
    const datasets: LineDataset[] = [];
    const raw = new Set<number>();
    this.series.forEach((s, i) => {
      pushRunLine(datasets, raw, {
        label: seriesTitle(s),
        steps: s.steps,
        values: s.loss,
        color: runColor(i),
        smoothing: this.smoothing,
        buckets,
        from,
        to,
      });
    });
    const legend = this.chart.options.plugins?.legend;
    if (legend?.labels) legend.labels.filter = (item) => !raw.has(item.datasetIndex ?? -1);
    redraw(this.chart, datasets, this.range, this.lastStep);
    const points = this.series.reduce((n, s) => n + s.steps.length, 0);
    this.dataset.points = String(points);
    this.dataset.smoothed = String(raw.size > 0);
    this.dataset.lastStep = String(Math.max(0, ...this.series.map((s) => s.steps.at(-1) ?? 0)));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'loss-chart': LossChart;
  }
}
