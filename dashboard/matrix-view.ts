import { LitElement, css, html } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import type { MatrixEvent } from '../streams/events.js';
import { colourScale, type ColourScale } from './colour-scale.js';
import { atStep, seriesTitle, type RunSeries } from './run-state.js';
import { COLORS, cssColor } from './theme.js';
import { stepAt, stepSlider, stepViewStyles } from './step-slider.js';

const FONT = '10px system-ui, sans-serif';
const BAR = 10;

interface Layout {
  left: number;
  top: number;
  cellW: number;
  cellH: number;
}

function format(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-2 || a >= 1e4) ? v.toExponential(1) : String(Number(v.toPrecision(3)));
}

/**
 * Draws a matrix as a heatmap: cells on the continuous colour scale (by default over the
 * matrix's own [min, max]), row labels on the left, column labels on top (every k-th when crowded), and
 * the colour bar with its range on the right. Returns where the cells are, for hover look-ups.
 */
export function drawHeatmap(
  canvas: HTMLCanvasElement,
  m: MatrixEvent,
  scale: ColourScale = colourScale(m.values, 0),
): Layout | null {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 320;
  const h = canvas.clientHeight || 240;
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  const ctx = canvas.getContext('2d');
  if (!ctx) return null;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  ctx.font = FONT;
  const rowLabels = m.rowLabels ?? Array.from({ length: m.rows }, (_, i) => String(i));
  const colLabels = m.colLabels ?? Array.from({ length: m.cols }, (_, i) => String(i));
  const left = Math.min(90, 6 + Math.max(0, ...rowLabels.map((l) => ctx.measureText(l).width)));
  const top = 16;
  const right = BAR + 48;
  const cellW = Math.max(1, (w - left - right) / Math.max(1, m.cols));
  const cellH = Math.max(1, (h - top - 4) / Math.max(1, m.rows));
  for (let r = 0; r < m.rows; r++) {
    for (let c = 0; c < m.cols; c++) {
      const v = m.values[r * m.cols + c];
      ctx.fillStyle = Number.isFinite(v) ? scale.colour(v) : COLORS.wash;
      ctx.fillRect(left + c * cellW, top + r * cellH, Math.ceil(cellW), Math.ceil(cellH));
    }
  }
  ctx.fillStyle = COLORS.textSoft;
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'right';
  const rowEvery = Math.max(1, Math.ceil(12 / cellH));
  for (let r = 0; r < m.rows; r += rowEvery) {
    ctx.fillText(rowLabels[r] ?? '', left - 4, top + (r + 0.5) * cellH, left - 6);
  }
  ctx.textAlign = 'center';
  const colEvery = Math.max(1, Math.ceil(ctx.measureText('0000').width / cellW));
  for (let c = 0; c < m.cols; c += colEvery) {
    ctx.fillText(colLabels[c] ?? '', left + (c + 0.5) * cellW, top / 2, cellW * colEvery);
  }
  // The colour bar: top is the maximum.
  const x0 = w - right + 8;
  const barH = h - top - 4;
  for (let y = 0; y < barH; y++) {
    ctx.fillStyle = scale.colour(scale.max - (y / Math.max(1, barH - 1)) * (scale.max - scale.min));
    ctx.fillRect(x0, top + y, BAR, 1);
  }
  ctx.fillStyle = COLORS.textSoft;
  ctx.textAlign = 'left';
  ctx.fillText(format(scale.max), x0 + BAR + 3, top + 5);
  ctx.fillText(format(scale.min), x0 + BAR + 3, top + barH - 5);
  return { left, top, cellW, cellH };
}

/**
 * One `matrix` name as a heatmap per selected run (the first two, side by side, on one colour
 * scale), with a
 * scrubber over the steps it was recorded at; hovering a cell shows its labels and value.
 */
@customElement('matrix-view')
export class MatrixView extends LitElement {
  static override styles = [
    stepViewStyles,
    css`
      .maps {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(220px, 1fr));
        gap: 8px;
      }
      figure {
        margin: 0;
      }
      figcaption {
        font-size: 11px;
        color: ${cssColor('muted')};
      }
      canvas {
        width: 100%;
        height: 220px;
        display: block;
      }
      .hover {
        min-height: 1.4em;
        font-size: 12px;
        color: ${cssColor('text')};
        font-variant-numeric: tabular-nums;
      }
    `,
  ];

  @property() name = '';
  @property({ attribute: false }) series: RunSeries[] = [];
  @property({ type: Number }) revision = 0;
  @state() private index: number | null = null;
  @state() private hover = '';
  private layouts: Array<Layout | null> = [];
  private drawn = '';

  private get steps(): number[] {
    const steps = new Set<number>();
    for (const s of this.series) for (const m of s.matrices.get(this.name) ?? []) steps.add(m.step);
    return [...steps].sort((a, b) => a - b);
  }

  private shown(): { step: number | null; maps: Array<MatrixEvent | undefined> } {
    const steps = this.steps;
    const step = stepAt(steps, this.index);
    const maps = this.series.slice(0, 2).map((s) => atStep(s.matrices.get(this.name) ?? [], step));
    return { step, maps };
  }

  override render() {
    const steps = this.steps;
    const { maps } = this.shown();
    const compare = this.series.length > 1;
    return html`<div class="title">${this.name} <span class="kind">matrix</span></div>
      <div class="maps">
        ${maps.map(
          (m, k) =>
            html`<figure>
              ${compare ? html`<figcaption>${seriesTitle(this.series[k])}</figcaption>` : ''}
              <canvas
                data-run=${this.series[k].runId}
                @mousemove=${(ev: MouseEvent) => this.onHover(ev, k)}
                @mouseleave=${() => (this.hover = '')}
              ></canvas>
              ${m ? '' : html`<figcaption>no ${this.name} in this run</figcaption>`}
            </figure>`,
        )}
      </div>
      <div class="hover">${this.hover}</div>
      <div class="controls">
        ${stepSlider(steps, this.index, (index) => (this.index = index))}
      </div>`;
  }

  override updated(): void {
    const { step, maps } = this.shown();
    const canvases = this.renderRoot.querySelectorAll('canvas');
    const key = [step, this.clientWidth, ...maps.map((m) => `${m?.runId}:${m?.seq}`)].join('|');
    if (key === this.drawn) return;
    this.drawn = key;
    // Side by side, both maps share one scale, so equal colours mean equal values.
    const scale = colourScale(
      maps.flatMap((m) => m?.values ?? []),
      0,
    );
    this.layouts = maps.map((m, k) => {
      const canvas = canvases[k];
      if (!canvas) return null;
      if (!m) {
        canvas.getContext('2d')?.clearRect(0, 0, canvas.width, canvas.height);
        return null;
      }
      return drawHeatmap(canvas, m, scale);
    });
    this.dataset.step = step === null ? '' : String(step);
    this.dataset.cells = String(maps.reduce((n, m) => n + (m ? m.rows * m.cols : 0), 0));
  }

  private onHover(ev: MouseEvent, k: number): void {
    const layout = this.layouts[k];
    const m = this.shown().maps[k];
    if (!layout || !m) return;
    const rect = (ev.target as HTMLCanvasElement).getBoundingClientRect();
    const c = Math.floor((ev.clientX - rect.left - layout.left) / layout.cellW);
    const r = Math.floor((ev.clientY - rect.top - layout.top) / layout.cellH);
    if (r < 0 || c < 0 || r >= m.rows || c >= m.cols) {
      this.hover = '';
      return;
    }
    const row = m.rowLabels?.[r] ?? String(r);
    const col = m.colLabels?.[c] ?? String(c);
    this.hover = `${row} × ${col}: ${format(m.values[r * m.cols + c])}`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'matrix-view': MatrixView;
  }
}
