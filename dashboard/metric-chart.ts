import { css, html } from 'lit';
import { customElement } from 'lit/decorators.js';
import type { AssessmentEvent } from '../streams/events.js';
import { createLineChart, redraw, type LineDataset } from './line-chart.js';
import { chartBoxStyles, StepChart } from './step-chart.js';
import { panelStyles } from './theme.js';

const METRICS: ReadonlyArray<{
  label: string;
  color: string;
  value: (a: AssessmentEvent) => number;
}> = [
  { label: 'accuracy', color: '#2563eb', value: (a) => a.accuracy },
  { label: 'R² x', color: '#db2777', value: (a) => a.r2.x },
  { label: 'R² y', color: '#7c3aed', value: (a) => a.r2.y },
  { label: 'one bump', color: '#059669', value: (a) => a.bumps.one },
];
// Runs after the first are told apart by dashes.
const DASHES = [[], [6, 3], [2, 2], [8, 3, 2, 3]];

/** Accuracy, R² of the embedding on x and y, and the one-bump fraction, per assessment. */
@customElement('metric-chart')
export class MetricChart extends StepChart {
  static override styles = [
    panelStyles,
    chartBoxStyles,
    css`
      .run {
        margin-right: 10px;
      }
      .dash {
        display: inline-block;
        width: 22px;
        margin-right: 4px;
        vertical-align: middle;
        border-top: 2px solid #374151;
      }
      .d1 {
        border-top-style: dashed;
      }
      .d2,
      .d3 {
        border-top-style: dotted;
      }
    `,
  ];

  private drawn = '';
  private drawnStep = 0;
  private drawnAt = 0;
  private catchUp?: ReturnType<typeof setTimeout>;

  override render() {
    const n = this.series.reduce((k, s) => k + s.assessments.length, 0);
    return html`<div class="panel">
      <h2>
        Metrics
        <span class="aside">
          ${
            this.series.length > 1
              ? this.series.map(
                  (s, i) =>
                    html`<span class="run"
                      ><i class="dash d${i % DASHES.length}"></i>${s.runId}</span
                    >`,
                )
              : ''
          }
          ${n} assessments
        </span>
      </h2>
      <div class="box"><canvas></canvas></div>
    </div>`;
  }

  override updated(): void {
    // Metrics change only with a new assessment or a new range; the step axis follows the run
    // too, but a few times a second is enough for that.
    const signature = `${this.series.map((s) => `${s.runId}:${s.assessments.length}`).join()}|${this.range?.join() ?? ''}`;
    const lastStep = this.lastStep;
    const now = performance.now();
    const stale = lastStep !== this.drawnStep && now - this.drawnAt > 250;
    if (this.chart && signature === this.drawn && !stale) {
      // Come back for the newest step even if no further update arrives.
      if (lastStep !== this.drawnStep) {
        this.catchUp ??= setTimeout(() => {
          this.catchUp = undefined;
          this.requestUpdate();
        }, 260);
      }
      return;
    }
    [this.drawnStep, this.drawnAt] = [lastStep, now];
    this.drawn = signature;
    this.chart ??= createLineChart(this.canvas, {
      type: 'linear',
      min: 0,
      max: 1,
      title: 'fraction / R²',
    });
    const datasets: LineDataset[] = [];
    this.series.forEach((s, i) => {
      for (const m of METRICS) {
        datasets.push({
          label: m.label,
          data: s.assessments.map((a) => ({ x: a.step, y: m.value(a) })),
          borderColor: m.color,
          backgroundColor: m.color,
          borderDash: DASHES[i % DASHES.length],
          pointRadius: s.assessments.length < 60 ? 2 : 0,
        });
      }
    });
    // Colour says which metric, dashes which run: list each metric once.
    const legend = this.chart.options.plugins?.legend;
    if (legend?.labels) legend.labels.filter = (item) => (item.datasetIndex ?? 0) < METRICS.length;
    redraw(this.chart, datasets, this.range, lastStep);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    clearTimeout(this.catchUp);
    this.catchUp = undefined;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'metric-chart': MetricChart;
  }
}
