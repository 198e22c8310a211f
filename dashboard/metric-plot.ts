import { css, html } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { createLineChart, redraw, type LineDataset } from './line-chart.js';
import { seriesTitle } from './run-state.js';
import { pushRunLine, StepChart } from './step-chart.js';
import { COLORS, cssColor, runColor, viewTitleStyles } from './theme.js';

/**
 * One `metric` name over steps, every selected run overlaid in its colour with a legend;
 * smoothed (debiased EMA) over the faint raw line when `smoothing` > 0; min/max-decimated.
 */
@customElement('metric-plot')
export class MetricPlot extends StepChart {
  static override styles = [
    viewTitleStyles,
    css`
      .title {
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
      }
      .last {
        font-weight: 400;
        color: ${cssColor('muted')};
        margin-left: 6px;
      }
      .box {
        position: relative;
        height: var(--plot-height, 180px);
      }
    `,
  ];

  @property() name = '';
  @property({ type: Number }) smoothing = 0;
  /** A colour per series (the sweep view colours runs by their swept value); else by position. */
  @property({ attribute: false }) colours: readonly string[] | null = null;
  /** Chart.js's legend of the runs; off where the host draws its own. */
  @property({ type: Boolean }) legend = true;
  /**
   * A step to mark on each series' line, or undefined (the sweep view marks where each run
   * confirmed the phase it plots).
   */
  @property({ attribute: false }) marks: readonly (number | undefined)[] | null = null;
  /** Horizontal lines across the steps, dashed (the phase panel's thresholds). */
  @property({ attribute: false }) rules: readonly number[] = [];
  private drawn = '';
  private drawnStep = 0;
  private drawnAt = 0;
  private catchUp?: ReturnType<typeof setTimeout>;
  /**
   * Charts scrolled out of view (or in a closed panel) skip their redraws, so a run logging
   * dozens of metrics costs only what is on screen; they catch up when they come into view.
   */
  private visible = true;
  private readonly seen = new IntersectionObserver(
    ([entry]) => {
      if (!entry || entry.isIntersecting === this.visible) return;
      this.visible = entry.isIntersecting;
      if (this.visible) this.requestUpdate();
    },
    { rootMargin: '200px' },
  );

  override connectedCallback(): void {
    super.connectedCallback();
    this.seen.observe(this);
  }

  override render() {
    const newest = this.series.map((s) => s.metrics.get(this.name)?.values.at(-1));
    const shown = newest.length === 1 && newest[0] !== undefined ? format(newest[0]) : '';
    return html`<div class="title" title=${this.name}>
        ${this.name}<span class="last">${shown}</span>
      </div>
      <div class="box"><canvas></canvas></div>`;
  }

  override updated(): void {
    // Redraw when this metric's points, the range or the smoothing changed; the shared step
    // axis follows the run too, but a few times a second is enough for that.
    const signature = [
      this.name,
      this.smoothing,
      this.range?.join() ?? '',
      this.colours?.join() ?? '',
      this.marks?.join() ?? '',
      this.rules.join(),
      ...this.series.map((s) => `${s.runId}:${s.metrics.get(this.name)?.steps.length ?? 0}`),
    ].join('|');
    const lastStep = this.lastStep;
    const now = performance.now();
    const stale = lastStep !== this.drawnStep && now - this.drawnAt > 250;
    if (this.chart && !this.visible) return;
    if (this.chart && signature === this.drawn && !stale) {
      if (lastStep !== this.drawnStep) {
        this.catchUp ??= setTimeout(() => {
          this.catchUp = undefined;
          this.requestUpdate();
        }, 260);
      }
      return;
    }
    [this.drawnStep, this.drawnAt, this.drawn] = [lastStep, now, signature];
    this.chart ??= createLineChart(this.canvas, { type: 'linear', title: '' });
    const buckets = Math.max(50, Math.round(this.chart.chartArea?.width ?? this.canvas.width));
    const [from, to] = this.range ?? [-Infinity, Infinity];
    const datasets: LineDataset[] = [];
    const raw = new Set<number>();
    let points = 0;
    let runs = 0;
    this.series.forEach((s, i) => {
      const m = s.metrics.get(this.name);
      if (!m?.steps.length) return;
      runs++;
      points += m.steps.length;
      pushRunLine(datasets, raw, {
        label: seriesTitle(s),
        steps: m.steps,
        values: m.values,
        color: this.colours?.[i] ?? runColor(i),
        smoothing: this.smoothing,
        buckets,
        from,
        to,
        dots: m.steps.length < 60,
      });
    });
    let marked = 0;
    this.series.forEach((s, i) => {
      const at = this.marks?.[i];
      const m = s.metrics.get(this.name);
      if (at === undefined || !m?.steps.length) return;
      // the value the line shows at that step: the last point at or before it
      let k = 0;
      while (k + 1 < m.steps.length && m.steps[k + 1] <= at) k++;
      const color = this.colours?.[i] ?? runColor(i);
      raw.add(datasets.length);
      datasets.push({
        label: `${seriesTitle(s)} (step ${at})`,
        data: [{ x: at, y: m.values[k] }],
        borderColor: COLORS.inkStrong,
        backgroundColor: color,
        pointRadius: 5,
        pointBorderWidth: 1.5,
        showLine: false,
      });
      marked++;
    });
    const [x0, x1] = this.range ?? [0, Math.max(1, lastStep)];
    for (const y of this.rules) {
      raw.add(datasets.length);
      datasets.push({
        label: `threshold ${y}`,
        data: [
          { x: x0, y },
          { x: x1, y },
        ],
        borderColor: COLORS.inkStrong,
        backgroundColor: COLORS.inkStrong,
        borderDash: [6, 4],
        borderWidth: 1.5,
        pointRadius: 0,
      });
    }
    const legend = this.chart.options.plugins?.legend;
    if (legend) {
      legend.display = this.legend && this.series.length > 1;
      if (legend.labels) legend.labels.filter = (item) => !raw.has(item.datasetIndex ?? -1);
    }
    redraw(this.chart, datasets, this.range, lastStep);
    this.dataset.points = String(points);
    this.dataset.runs = String(runs);
    this.dataset.smoothed = String(raw.size > marked + this.rules.length);
    this.dataset.marks = String(marked);
    this.dataset.rules = this.rules.join(',');
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.seen.disconnect();
    clearTimeout(this.catchUp);
    this.catchUp = undefined;
  }
}

function format(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(2) : String(Number(v.toPrecision(4)));
}

declare global {
  interface HTMLElementTagNameMap {
    'metric-plot': MetricPlot;
  }
}
