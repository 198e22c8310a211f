import { LitElement, css, html, type PropertyValues } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import type { Chart, PointStyle } from 'chart.js';
import type { Phase, RunMeta } from '../streams/events.js';
import type { RunSummary } from '../streams/protocol.js';
import { valueColours } from './colour-scale.js';
import type { Point } from './decimate.js';
import { createLineChart, type LineDataset } from './line-chart.js';
import './metric-plot.js';
import { namesAcross, type RunSeries } from './run-state.js';
import { formatValue } from './runs-query.js';
import {
  METRIC_STATS,
  PHASES,
  phaseSteps,
  spreadX,
  suitsLogAxis,
  sweepPlot,
  sweptKeys,
  yTitle,
  type MetricStat,
  type PointStatus,
  type SweepInfo,
  type SweepPlot,
  type SweepRun,
  type SweepY,
} from './sweep-model.js';
import { COLORS, PHASE_COLORS, cssColor, panelStyles, withAlpha } from './theme.js';
import type { StepRange } from './view-range.js';

/** How each kind of point is drawn, and what the legend calls it. */
const MARKS: Record<
  PointStatus,
  { style: PointStyle; hollow: boolean; glyph: string; label: string }
> = {
  reached: { style: 'circle', hollow: false, glyph: '●', label: 'confirmed' },
  pending: { style: 'circle', hollow: true, glyph: '○', label: 'not yet: running, at its step' },
  ended: { style: 'triangle', hollow: true, glyph: '△', label: 'ended without it: last step' },
  skipped: { style: 'crossRot', hollow: false, glyph: '×', label: 'skipped: a later phase first' },
};
const STATUS_ORDER: readonly PointStatus[] = ['reached', 'pending', 'ended', 'skipped'];

/** The y choice as one string (a select's value): `phase:C` or `metric:<name>`. */
type YChoice = string;

/**
 * The runs of a sweep compared: y (steps to a phase, or a metric's last, lowest or highest
 * value) against a swept config key, one point per run — filled where the phase was
 * confirmed, hollow at the step a run has reached while it is not there yet — with the median
 * and the spread at each value; below, one metric's curves of every run, coloured by the swept
 * value. Redrawn as events arrive. Emits `sweep-change` (a sweep id, or null for the runs
 * selected by hand).
 */
@customElement('sweep-view')
export class SweepView extends LitElement {
  static override styles = [
    panelStyles,
    css`
      .bar {
        display: flex;
        flex-wrap: wrap;
        gap: 8px 16px;
        align-items: center;
        margin-bottom: 8px;
        font-size: 12px;
        color: ${cssColor('muted')};
      }
      .bar label {
        display: flex;
        gap: 6px;
        align-items: center;
      }
      .legend {
        display: flex;
        flex-wrap: wrap;
        gap: 4px 14px;
        font-size: 12px;
        color: ${cssColor('text')};
        margin-bottom: 6px;
      }
      .legend .marks {
        color: ${cssColor('muted')};
      }
      .glyph {
        display: inline-block;
        width: 1.1em;
        text-align: center;
        color: ${cssColor('textSoft')};
      }
      .plots {
        display: grid;
        grid-template-columns: minmax(0, 1fr) minmax(0, 1fr);
        gap: 12px 16px;
      }
      @media (max-width: 1100px) {
        .plots {
          grid-template-columns: minmax(0, 1fr);
        }
      }
      .box {
        position: relative;
        height: var(--sweep-plot-height, 260px);
      }
      .figure .plots {
        grid-template-columns: minmax(0, 1fr);
      }
      .figure h2 {
        text-transform: none;
        letter-spacing: 0;
        font-size: 14px;
        color: ${cssColor('text')};
      }
      metric-plot {
        --plot-height: 260px;
      }
      .caption {
        font-size: 12px;
        font-weight: 600;
        color: ${cssColor('text')};
      }
      .note {
        font-size: 11px;
        color: ${cssColor('muted')};
      }
    `,
  ];

  /** The runs compared: their catalogue entries and their series, in the same order. */
  @property({ attribute: false }) metas: (RunMeta | undefined)[] = [];
  @property({ attribute: false }) series: RunSeries[] = [];
  /**
   * The server's summaries of the runs, in the same order: a run whose series holds nothing
   * (not opened, so not replayed) is drawn from its summary.
   */
  @property({ attribute: false }) summaries: (RunSummary | undefined)[] = [];
  @property({ attribute: false }) sweeps: SweepInfo[] = [];
  /** The sweep whose runs are compared, or null for the runs selected by hand. */
  @property({ attribute: false }) sweep: string | null = null;
  @property({ attribute: false }) range: StepRange = null;
  @property({ type: Number }) smoothing = 0;
  @property({ type: Number }) revision = 0;

  /** The swept key on x ('' or a key the runs do not differ in: the first that they do). */
  @property({ attribute: false }) xKey = '';
  /** What y shows: `phase:C`, or `metric:<name>` ('' chooses by what the runs record). */
  @property({ attribute: false }) yChoice: YChoice = '';
  /**
   * A figure alone (`phasewatch report`): the plot and its legends without the controls and
   * the curves, the plot as tall as `--sweep-plot-height`.
   */
  @property({ type: Boolean }) figure = false;
  /**
   * The runs were picked by hand, not a sweep: nothing says what they swept, so the view asks
   * for the key to plot them against rather than guessing one.
   */
  @property({ type: Boolean }) ask = false;
  @state() private stat: MetricStat = 'last';
  @state() private curveMetric = '';
  /** null: a log x axis when the values suit one. */
  @state() private logX: boolean | null = null;
  @query('canvas') private canvas?: HTMLCanvasElement;
  private chart?: Chart<'line', Point[]>;
  /** Tooltip lines per dataset and point. */
  private tips: string[][] = [];
  private plot?: SweepPlot;
  /**
   * What each select shows, by its label (set after each render: an option's `selected`
   * attribute no longer moves a select the user has changed).
   */
  private shown: Record<string, string> = {};
  /** A colour per value of the swept key, in the plot's order. */
  private groupColours: string[] = [];
  private log = false;

  override render() {
    const compared = this.series.length;
    this.dataset.sweep = this.sweep ?? '';
    const picker = html`<label
      >sweep
      <select
        aria-label="sweep"
        @change=${(ev: Event) =>
          this.emit('sweep-change', (ev.target as HTMLSelectElement).value || null)}
      >
        <option value="" ?selected=${this.sweep === null}>the runs selected</option>
        ${this.sweeps.map(
          (s) =>
            html`<option value=${s.id} ?selected=${this.sweep === s.id}>
              ${s.id} · ${s.runIds.length} runs${s.running ? `, ${s.running} running` : ''}
            </option>`,
        )}
      </select></label
    >`;
    const head = html`<h2>
      Sweep
      <span class="aside">${this.sweeps.length ? picker : ''}</span>
    </h2>`;
    if (compared < 2) {
      this.plot = undefined;
      this.dataset.keys = '';
      return html`<div class="panel">
        ${head}
        <div class="empty">
          ${
            this.sweeps.length
              ? 'Pick a sweep, or select two or more runs, to compare them against what they swept'
              : 'Select two or more runs to compare them against what they swept'
          }
        </div>
      </div>`;
    }
    const keys = sweptKeys(this.metas.map((m) => ({ config: m?.config ?? {}, name: m?.name })));
    this.dataset.keys = keys.join(',');
    if (keys.length === 0) {
      this.plot = undefined;
      return html`<div class="panel">
        ${head}
        <div class="empty">The runs compared have the same config: nothing was swept</div>
      </div>`;
    }
    if (this.ask && !keys.includes(this.xKey)) {
      this.plot = undefined;
      this.dataset.x = '';
      this.shown = { 'swept parameter': '' };
      return html`<div class="panel">
        ${head}
        <div class="bar">
          <label
            >x
            <select
              aria-label="swept parameter"
              @change=${(ev: Event) => (this.xKey = (ev.target as HTMLSelectElement).value)}
            >
              <option value="">pick a config key</option>
              ${keys.map((k) => html`<option value=${k}>${k}</option>`)}
            </select></label
          >
          <span class="ask note"
            >These runs are not one sweep: pick the config key to compare them against</span
          >
        </div>
      </div>`;
    }
    const xKey = keys.includes(this.xKey) ? this.xKey : keys[0];
    const metricNames = this.metricNames();
    const y = this.currentY(metricNames);
    const curveMetric = this.pickCurveMetric(metricNames, y);
    const plot = sweepPlot(this.sweepRuns(), xKey, y);
    this.plot = plot;
    this.log = this.logX ?? suitsLogAxis(plot);
    this.groupColours = valueColours(plot.groups.map((g) => g.value));
    const colours = this.series.map((s) => {
      const p = plot.points.find((q) => q.runId === s.runId);
      return this.colourAt(plot, p?.x);
    });
    const counts = STATUS_ORDER.map((st) => plot.points.filter((p) => p.status === st).length);
    this.dataset.x = xKey;
    this.dataset.y = y.kind === 'phase' ? `phase:${y.phase}` : `metric:${y.name}:${y.stat}`;
    this.dataset.points = [...plot.points]
      .sort((a, b) => a.runId.localeCompare(b.runId))
      .map((p) => `${p.runId}=${formatValue(p.value)}:${formatValue(p.y)}:${p.status}`)
      .join(';');
    this.dataset.groups = plot.groups
      .map((g) => `${g.label}:${Number.isNaN(g.median) ? '-' : g.median}:${g.reached}/${g.runs}`)
      .join(';');
    STATUS_ORDER.forEach((st, i) => (this.dataset[st] = String(counts[i])));
    this.dataset.curveMetric = curveMetric;
    this.shown = {
      'swept parameter': xKey,
      'y value': y.kind === 'phase' ? `phase:${y.phase}` : `metric:${y.name}`,
      statistic: this.stat,
      'curve metric': curveMetric,
    };
    this.dataset.curveColours = this.series.map((s, i) => `${s.runId}=${colours[i]}`).join(';');
    const phaseSummary =
      y.kind === 'phase'
        ? `${counts[0]} of ${plot.points.length} runs confirmed ${y.phase}`
        : `${plot.points.length} runs`;
    if (this.figure) {
      return html`<div class="panel figure">
        <h2>${yTitle(y)} against ${xKey} · ${phaseSummary}</h2>
        ${this.legends(plot, xKey, y, counts)}
        <div class="plots">
          <div class="box"><canvas></canvas></div>
        </div>
      </div>`;
    }
    return html`<div class="panel">
      ${head}
      <div class="bar">
        <label
          >x
          <select
            aria-label="swept parameter"
            @change=${(ev: Event) => (this.xKey = (ev.target as HTMLSelectElement).value)}
          >
            ${keys.map((k) => html`<option value=${k} ?selected=${k === xKey}>${k}</option>`)}
          </select></label
        >
        <label
          >y
          <select
            aria-label="y value"
            @change=${(ev: Event) => this.chooseY((ev.target as HTMLSelectElement).value)}
          >
            <optgroup label="steps to phase">
              ${PHASES.map(
                (p) =>
                  html`<option value="phase:${p}" ?selected=${y.kind === 'phase' && y.phase === p}>
                    steps to ${p}
                  </option>`,
              )}
            </optgroup>
            <optgroup label="metric">
              ${metricNames.map(
                (n) =>
                  html`<option value="metric:${n}" ?selected=${y.kind === 'metric' && y.name === n}>
                    ${n}
                  </option>`,
              )}
            </optgroup>
          </select></label
        >
        ${
          y.kind === 'metric'
            ? html`<select
                aria-label="statistic"
                @change=${(ev: Event) =>
                  (this.stat = (ev.target as HTMLSelectElement).value as MetricStat)}
              >
                ${METRIC_STATS.map(
                  (s) => html`<option value=${s} ?selected=${s === this.stat}>${s}</option>`,
                )}
              </select>`
            : ''
        }
        <label
          >curves
          <select
            aria-label="curve metric"
            @change=${(ev: Event) => (this.curveMetric = (ev.target as HTMLSelectElement).value)}
          >
            ${metricNames.map(
              (n) => html`<option value=${n} ?selected=${n === curveMetric}>${n}</option>`,
            )}
          </select></label
        >
        ${
          plot.axis === 'numeric'
            ? html`<label
                ><input
                  type="checkbox"
                  aria-label="log x"
                  .checked=${this.log}
                  @change=${(ev: Event) => (this.logX = (ev.target as HTMLInputElement).checked)}
                />
                log x</label
              >`
            : ''
        }
        <span class="note"
          >${phaseSummary}${plot.missing.length ? ` · ${plot.missing.length} without it` : ''}</span
        >
      </div>
      ${this.legends(plot, xKey, y, counts)}
      <div class="plots">
        <div>
          <div class="caption">${yTitle(y)} against ${xKey}</div>
          <div class="box"><canvas></canvas></div>
        </div>
        <metric-plot
          .name=${curveMetric}
          .series=${this.series}
          .colours=${colours}
          .marks=${y.kind === 'phase' ? this.series.map((s) => phaseSteps(s)[y.phase]) : null}
          .legend=${false}
          .range=${this.range}
          .smoothing=${this.smoothing}
          revision=${this.revision}
        ></metric-plot>
      </div>
    </div>`;
  }

  /** The colours of the swept values, and what each kind of mark means. */
  private legends(plot: SweepPlot, xKey: string, y: SweepY, counts: number[]) {
    return html`<div class="legend">
        <span>${xKey}:</span>
        ${plot.groups.map(
          (g, i) =>
            html`<span data-value=${g.label}
              ><span class="swatch" style="background:${this.groupColours[i]}"></span>${g.label}
              <span class="marks">(${g.reached}/${g.runs})</span></span
            >`,
        )}
      </div>
      <div class="legend marks">
        ${
          y.kind === 'phase'
            ? STATUS_ORDER.filter((st, i) => st === 'reached' || counts[i] > 0).map(
                (st) =>
                  html`<span data-mark=${st}
                    ><span class="glyph">${MARKS[st].glyph}</span>${MARKS[st].label}</span
                  >`,
              )
            : ''
        }
        <span><span class="glyph">—</span>median; bar: lowest to highest</span>
      </div>`;
  }

  override updated(_changed: PropertyValues): void {
    for (const select of this.renderRoot.querySelectorAll('select')) {
      const label = select.getAttribute('aria-label') ?? '';
      const value = label === 'sweep' ? (this.sweep ?? '') : this.shown[label];
      if (value !== undefined && select.value !== value) select.value = value;
    }
    const plot = this.plot;
    if (!plot || !this.canvas) {
      this.chart?.destroy();
      this.chart = undefined;
      return;
    }
    if (this.chart && this.chart.canvas !== this.canvas) {
      this.chart.destroy();
      this.chart = undefined;
    }
    const y = this.currentY(this.metricNames());
    this.chart ??= this.createChart();
    const datasets: LineDataset[] = [];
    this.tips = [];
    const statWord = (st: PointStatus) =>
      st === 'reached' ? '' : st === 'pending' ? ' (not yet; at step)' : ` (${st})`;
    // the spread of each value: a bar from the lowest to the highest y
    for (const g of plot.groups) {
      if (!(g.reached > 1 && g.max > g.min)) continue;
      const colour = this.colourAt(plot, g.x);
      datasets.push({
        label: `${g.label} spread`,
        data: [
          { x: g.x, y: g.min },
          { x: g.x, y: g.max },
        ],
        borderColor: withAlpha(colour, 0.45),
        backgroundColor: withAlpha(colour, 0.45),
        borderWidth: 4,
        pointRadius: 0,
        pointHitRadius: 0,
        showLine: true,
      });
      this.tips.push([`${plot.key} ${g.label}: ${g.min} to ${g.max}`]);
    }
    const medians = plot.groups.filter((g) => g.reached > 0);
    datasets.push({
      label: 'median',
      data: medians.map((g) => ({ x: g.x, y: g.median })),
      borderColor: COLORS.inkStrong,
      backgroundColor: COLORS.inkStrong,
      borderWidth: 1,
      borderDash: [4, 3],
      pointStyle: 'line',
      pointRadius: 11,
      pointBorderWidth: 3,
      showLine: true,
    });
    this.tips.push(
      medians.map((g) => `${plot.key} ${g.label}: median ${g.median} (${g.reached}/${g.runs})`),
    );
    const xs = spreadX(plot.points, this.log);
    for (const st of STATUS_ORDER) {
      const mine = plot.points.map((p, i) => ({ p, x: xs[i] })).filter((q) => q.p.status === st);
      if (!mine.length) continue;
      const colour = (q: (typeof mine)[number]) => this.colourAt(plot, q.p.x);
      datasets.push({
        label: MARKS[st].label,
        data: mine.map((q) => ({ x: q.x, y: q.p.y })),
        pointStyle: MARKS[st].style,
        pointRadius: st === 'reached' ? 5 : 6,
        pointHoverRadius: 7,
        pointBorderWidth: 2,
        pointBorderColor: mine.map(colour),
        pointBackgroundColor: mine.map((q) => (MARKS[st].hollow ? COLORS.card : colour(q))),
        borderColor: mine.map(colour),
        backgroundColor: mine.map(colour),
        showLine: false,
      } as LineDataset);
      this.tips.push(
        mine.map(
          (q) =>
            `${q.p.title} · ${plot.key} ${formatValue(q.p.value)} · ${
              y.kind === 'phase' ? `step ${q.p.y}` : q.p.y
            }${y.kind === 'phase' ? statWord(st) : ''}`,
        ),
      );
    }
    this.layoutAxes(plot, y);
    this.chart.data.datasets = datasets;
    this.chart.update('none');
    this.dataset.drawn = String(datasets.length);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.chart?.destroy();
    this.chart = undefined;
  }

  private createChart(): Chart<'line', Point[]> {
    const chart = createLineChart(this.canvas!, { type: 'linear', title: '' }, { title: '' });
    chart.options.interaction = { mode: 'nearest', axis: 'xy', intersect: true };
    const plugins = chart.options.plugins;
    if (plugins?.legend) plugins.legend.display = false;
    if (plugins?.tooltip) {
      plugins.tooltip.callbacks = {
        title: () => '',
        label: (item) => this.tips[item.datasetIndex]?.[item.dataIndex] ?? '',
      };
    }
    return chart;
  }

  private layoutAxes(plot: SweepPlot, y: SweepY): void {
    const scales = this.chart?.options.scales;
    if (!scales?.x || !scales.y) return;
    const xs = plot.groups.map((g) => g.x);
    const x = scales.x as unknown as Record<string, unknown> & {
      ticks: Record<string, unknown>;
      title: { text: string };
    };
    x.title.text = plot.key;
    // ticks at the swept values themselves (a few of them; else Chart.js's own)
    x.afterBuildTicks =
      xs.length <= 12
        ? (scale: { ticks: { value: number }[] }) => {
            scale.ticks = xs.map((value) => ({ value }));
          }
        : undefined;
    x.ticks.callback = (v: number | string) => {
      const at = Number(v);
      if (plot.axis === 'categorical') return plot.groups[at]?.label ?? '';
      return formatValue(at);
    };
    if (plot.axis === 'categorical') {
      x.type = 'linear';
      x.min = -0.5;
      x.max = xs.length - 0.5;
    } else if (this.log) {
      x.type = 'logarithmic';
      x.min = Math.min(...xs) / 1.5;
      x.max = Math.max(...xs) * 1.5;
    } else {
      const lo = Math.min(...xs);
      const hi = Math.max(...xs);
      const pad = (hi - lo || Math.abs(hi) || 1) * 0.08;
      x.type = 'linear';
      x.min = lo - pad;
      x.max = hi + pad;
    }
    const yScale = scales.y as unknown as { min?: number; title: { text: string; color: string } };
    yScale.min = y.kind === 'phase' ? 0 : undefined;
    yScale.title.text = yTitle(y);
    yScale.title.color = y.kind === 'phase' ? PHASE_COLORS[y.phase] : COLORS.muted;
  }

  /** The colour of the value at axis position `x`. */
  private colourAt(plot: SweepPlot, x: number | undefined): string {
    const i = plot.groups.findIndex((g) => g.x === x);
    return this.groupColours[i] ?? COLORS.faint;
  }

  private sweepRuns(): SweepRun[] {
    return this.series.map((series, i) => ({
      series,
      meta: this.metas[i],
      summary: this.summaries[i],
    }));
  }

  /** Every metric the runs logged: in their series, or in the summaries of the others. */
  private metricNames(): string[] {
    const names = new Set(namesAcross(this.series, (s) => s.metrics));
    for (const sum of this.summaries) for (const n of Object.keys(sum?.metrics ?? {})) names.add(n);
    return [...names].sort((a, b) => a.localeCompare(b));
  }

  private currentY(metricNames: string[]): SweepY {
    const choice = this.yChoice || this.defaultY(metricNames);
    if (choice.startsWith('metric:')) {
      const name = choice.slice(7);
      if (metricNames.includes(name)) return { kind: 'metric', name, stat: this.stat };
    }
    const phase = choice.startsWith('phase:') ? (choice.slice(6) as Phase) : 'C';
    return { kind: 'phase', phase: PHASES.includes(phase) ? phase : 'C' };
  }

  /** Steps to C for runs that assess phases (or have not logged anything yet); else a metric. */
  private defaultY(metricNames: string[]): YChoice {
    const phased =
      this.series.some((s) => s.phases.length > 0 || s.assessments.length > 0) ||
      this.summaries.some((s) => s !== undefined && Object.keys(s.phases).length > 0);
    return phased || metricNames.length === 0 ? 'phase:C' : `metric:${metricNames[0]}`;
  }

  private pickCurveMetric(metricNames: string[], y: SweepY): string {
    if (metricNames.includes(this.curveMetric)) return this.curveMetric;
    if (y.kind === 'metric') return y.name;
    for (const n of ['phase/accuracy', 'phase/r2']) if (metricNames.includes(n)) return n;
    return metricNames[0] ?? '';
  }

  private chooseY(value: string): void {
    this.yChoice = value;
    // a metric chosen for y is the one whose curves are worth seeing too
    if (value.startsWith('metric:')) this.curveMetric = value.slice(7);
  }

  private emit(type: string, detail: unknown): void {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'sweep-view': SweepView;
  }
}
