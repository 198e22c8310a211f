import { LitElement, css, html, type PropertyValues } from 'lit';
import { customElement, property, query } from 'lit/decorators.js';
import type { Chart } from 'chart.js';
import { decimateMinMax, type Point } from './decimate.js';
import { attachRangeGestures, createLineChart, redraw } from './line-chart.js';
import type { RunSeries } from './run-state.js';
import { panelStyles, runColor } from './theme.js';
import type { StepRange } from './view-range.js';

declare global {
  interface Window {
    /** Set by the live bench: event → painted (next frame) latencies in ms. */
    __pwLatency?: number[];
    /** Set by the live bench: event → chart updated latencies in ms. */
    __pwDrawn?: number[];
  }
}

/** Loss over steps for each selected run, min/max-decimated to the pixels it has. */
@customElement('loss-chart')
export class LossChart extends LitElement {
  static override styles = [
    panelStyles,
    css`
      .box {
        position: relative;
        height: 240px;
      }
    `,
  ];

  @property({ attribute: false }) series: RunSeries[] = [];
  @property({ attribute: false }) range: StepRange = null;
  @property({ type: Number }) revision = 0;
  @query('canvas') private canvas!: HTMLCanvasElement;
  private chart?: Chart<'line', Point[]>;
  private lastDrawnTime = 0;

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

  override firstUpdated(): void {
    attachRangeGestures(
      this,
      this.canvas,
      () => this.chart,
      () => ({
        range: this.range,
        lastStep: Math.max(1, ...this.series.map((s) => s.lastStep)),
      }),
    );
  }

  override updated(_changed: PropertyValues): void {
    this.chart ??= createLineChart(this.canvas, { type: 'logarithmic', title: 'loss' });
    const buckets = Math.max(50, Math.round(this.chart.chartArea?.width ?? this.canvas.width));
    const [from, to] = this.range ?? [-Infinity, Infinity];
    redraw(
      this.chart,
      this.series.map((s, i) => ({
        label: s.runId,
        data: decimateMinMax(s.steps, s.loss, buckets, from, to),
        borderColor: runColor(i),
        backgroundColor: runColor(i),
      })),
      this.range,
      Math.max(0, ...this.series.map((s) => s.lastStep)),
    );
    const points = this.series.reduce((n, s) => n + s.steps.length, 0);
    this.dataset.points = String(points);
    this.dataset.lastStep = String(Math.max(0, ...this.series.map((s) => s.steps.at(-1) ?? 0)));
    this.recordLatency();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.chart?.destroy();
    this.chart = undefined;
  }

  // For the live bench: from the newest step event's creation to the chart holding it (DOM and
  // canvas updated), and to the next frame (painted).
  private recordLatency(): void {
    const sink = window.__pwLatency;
    const t = Math.max(0, ...this.series.map((s) => s.lastStepTime));
    if (!sink || t === this.lastDrawnTime) return;
    this.lastDrawnTime = t;
    window.__pwDrawn?.push(Date.now() - t);
    requestAnimationFrame(() => sink.push(Date.now() - t));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'loss-chart': LossChart;
  }
}
