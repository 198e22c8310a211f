import { html, type PropertyValues } from 'lit';
import { customElement } from 'lit/decorators.js';
import { decimateMinMax } from './decimate.js';
import { createLineChart, redraw } from './line-chart.js';
import { chartBoxStyles, StepChart } from './step-chart.js';
import { panelStyles, runColor } from './theme.js';

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
export class LossChart extends StepChart {
  static override styles = [panelStyles, chartBoxStyles];

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
      this.lastStep,
    );
    const points = this.series.reduce((n, s) => n + s.steps.length, 0);
    this.dataset.points = String(points);
    this.dataset.lastStep = String(Math.max(0, ...this.series.map((s) => s.steps.at(-1) ?? 0)));
    this.recordLatency();
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
