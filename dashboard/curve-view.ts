import { LitElement, css, html } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import type { Chart } from 'chart.js';
import type { Point } from './decimate.js';
import { createLineChart, type LineDataset } from './line-chart.js';
import { atStep, seriesTitle, type RunSeries } from './run-state.js';
import { runColor } from './theme.js';
import { stepAt, stepSlider, stepViewStyles } from './step-slider.js';

/** The steps at which any of the runs measured the curve, sorted. */
export function curveSteps(series: readonly RunSeries[], name: string): number[] {
  const steps = new Set<number>();
  for (const s of series) for (const c of s.curves.get(name) ?? []) steps.add(c.step);
  return [...steps].sort((a, b) => a - b);
}

/**
 * One `curve` name: the curve measured at one snapshot (e.g. probe accuracy against diffusion
 * timestep), every selected run overlaid, with a scrubber over the steps it was measured at.
 * Follows the newest step until scrubbed back.
 */
@customElement('curve-view')
export class CurveView extends LitElement {
  static override styles = [
    stepViewStyles,
    css`
      .box {
        position: relative;
        height: 180px;
      }
    `,
  ];

  @property() name = '';
  @property({ attribute: false }) series: RunSeries[] = [];
  @property({ type: Number }) revision = 0;
  /** Index into the measured steps, or null for the newest. */
  @state() private index: number | null = null;
  @query('canvas') private canvas!: HTMLCanvasElement;
  private chart?: Chart<'line', Point[]>;
  private drawn = '';

  override render() {
    const steps = curveSteps(this.series, this.name);
    return html`<div class="title">${this.name} <span class="kind">curve</span></div>
      <div class="box"><canvas></canvas></div>
      <div class="controls">
        ${stepSlider(steps, this.index, (index) => (this.index = index))}
      </div>`;
  }

  override updated(): void {
    const steps = curveSteps(this.series, this.name);
    const step = stepAt(steps, this.index);
    const shown = this.series.map((s) => atStep(s.curves.get(this.name) ?? [], step));
    const key = [this.name, step, ...shown.map((c) => `${c?.runId}:${c?.seq}`)].join('|');
    if (this.chart && key === this.drawn) return;
    this.drawn = key;
    const first = shown.find((c) => c);
    this.chart ??= createLineChart(
      this.canvas,
      { type: 'linear', title: first?.yLabel ?? '' },
      { title: first?.xLabel ?? 'x' },
    );
    const datasets: LineDataset[] = [];
    let points = 0;
    shown.forEach((c, i) => {
      if (!c) return;
      const data: Point[] = [];
      for (let k = 0; k < Math.min(c.x.length, c.y.length); k++)
        data.push({ x: c.x[k], y: c.y[k] });
      points += data.length;
      datasets.push({
        label:
          this.series.length > 1
            ? `${seriesTitle(this.series[i])} · step ${c.step}`
            : `step ${c.step}`,
        data,
        borderColor: runColor(i),
        backgroundColor: runColor(i),
        pointRadius: data.length < 40 ? 2 : 0,
      });
    });
    const scales = this.chart.options.scales;
    if (scales?.x && scales.y) {
      scales.x.min = scales.x.max = undefined;
      const xTitle = scales.x.title;
      const yTitle = scales.y.title;
      if (xTitle) xTitle.text = first?.xLabel ?? 'x';
      if (yTitle) yTitle.text = first?.yLabel ?? '';
    }
    this.chart.data.datasets = datasets;
    this.chart.update('none');
    this.dataset.step = step === null ? '' : String(step);
    this.dataset.points = String(points);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.chart?.destroy();
    this.chart = undefined;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'curve-view': CurveView;
  }
}
