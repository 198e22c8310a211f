import { LitElement, css, html, unsafeCSS, type PropertyValues } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import type { AssessmentEvent } from '../streams/events.js';
import { colormap, dragView, normalizeCloud, projectCloud, type View } from './projection.js';
import { PHASE_COLORS, panelStyles } from './theme.js';

export type ColorBy = 'x' | 'y';

const RAMP = [0, 0.25, 0.5, 0.75, 1].map(colormap).join(', ');

const AXES = Float32Array.from([0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]);

/** A small triad in the corner, so the current orientation is always readable. */
function drawAxes(ctx: CanvasRenderingContext2D, view: View, h: number): void {
  const p = projectCloud(AXES, view, 64, 64);
  const [ox, oy] = [10, h - 74];
  ctx.font = '10px system-ui, sans-serif';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  for (let i = 1; i <= 3; i++) {
    ctx.strokeStyle = ctx.fillStyle = '#6b7280';
    ctx.globalAlpha = 0.5 + 0.5 * ((p.depth[i] + 1) / 2);
    ctx.beginPath();
    ctx.moveTo(ox + p.x[0], oy + p.y[0]);
    ctx.lineTo(ox + p.x[i], oy + p.y[i]);
    ctx.stroke();
    const [dx, dy] = [p.x[i] - p.x[0], p.y[i] - p.y[0]];
    ctx.fillText(`d${i}`, ox + p.x[0] + dx * 1.3, oy + p.y[0] + dy * 1.3);
  }
  ctx.globalAlpha = 1;
}

/**
 * The 3-D embedding of one snapshot as a scatter you can turn by dragging, coloured by the
 * conditioning x or y, with a scrubber over the run's snapshots. The scrubber index is null
 * while following the newest snapshot.
 */
@customElement('embedding-view')
export class EmbeddingView extends LitElement {
  static override styles = [
    panelStyles,
    css`
      canvas {
        width: 100%;
        height: 300px;
        display: block;
        cursor: grab;
        touch-action: none;
        background: #fafafa;
        border-radius: 6px;
      }
      .controls {
        display: flex;
        align-items: center;
        gap: 10px;
        margin-top: 8px;
      }
      input[type='range'] {
        flex: 1;
      }
      .seg button {
        font: inherit;
        border: 1px solid #d1d5db;
        background: #fff;
        padding: 2px 10px;
        cursor: pointer;
      }
      .seg button:first-child {
        border-radius: 4px 0 0 4px;
      }
      .seg button:last-child {
        border-radius: 0 4px 4px 0;
        margin-left: -1px;
      }
      .seg button[aria-pressed='true'] {
        background: #1f2937;
        border-color: #1f2937;
        color: #fff;
      }
      .phase {
        color: #fff;
        border-radius: 3px;
        padding: 0 6px;
        font-weight: 600;
      }
      .ramp {
        display: inline-block;
        width: 60px;
        height: 8px;
        border-radius: 2px;
        background: linear-gradient(to right, ${unsafeCSS(RAMP)});
      }
    `,
  ];

  @property({ attribute: false }) assessments: AssessmentEvent[] = [];
  @property({ type: Number }) revision = 0;
  /** Index of the shown snapshot, or null for the newest. */
  @property({ attribute: false }) index: number | null = null;
  @property() colorBy: ColorBy = 'x';
  @state() private view: View = { yaw: 0.55, pitch: 0.6 };
  @query('canvas') private canvas!: HTMLCanvasElement;
  private drag: { x: number; y: number } | null = null;
  private drawn = '';
  private cloud: { source: AssessmentEvent; points: Float32Array } | null = null;

  private get shown(): AssessmentEvent | undefined {
    const n = this.assessments.length;
    return n ? this.assessments[Math.min(n - 1, this.index ?? n - 1)] : undefined;
  }

  override render() {
    const a = this.shown;
    const n = this.assessments.length;
    const i = Math.min(n - 1, this.index ?? n - 1);
    return html`<div class="panel">
      <h2>
        Embedding
        <span class="aside">
          ${
            a
              ? html`drag to rotate · step ${a.step} ·
                  <span class="phase" style="background:${PHASE_COLORS[a.phase]}">${a.phase}</span>
                  · R² ${a.r2.mean.toFixed(2)}`
              : ''
          }
        </span>
      </h2>
      <canvas
        @pointerdown=${this.onDown}
        @pointermove=${this.onMove}
        @pointerup=${this.onUp}
        @pointercancel=${this.onUp}
      ></canvas>
      <div class="controls">
        <span class="seg" role="group" aria-label="colour by">
          ${(['x', 'y'] as const).map(
            (c) =>
              html`<button aria-pressed=${this.colorBy === c} @click=${() => this.setColor(c)}>
                ${c}
              </button>`,
          )}
        </span>
        <i class="ramp" title="label: low → high"></i>
        <input
          type="range"
          aria-label="snapshot"
          min="0"
          max=${Math.max(0, n - 1)}
          .value=${String(Math.max(0, i))}
          ?disabled=${n < 2}
          @input=${this.onScrub}
        />
        <span>${n ? `${i + 1}/${n}` : '–'}${this.index === null && n ? ' · live' : ''}</span>
      </div>
    </div>`;
  }

  override updated(_changed: PropertyValues): void {
    // Redraw only when what is shown changed, not on every event of the run.
    const a = this.shown;
    const key = [
      a?.runId,
      a?.seq,
      this.view.yaw,
      this.view.pitch,
      this.colorBy,
      this.canvas.clientWidth,
    ].join();
    if (key === this.drawn) return;
    this.drawn = key;
    this.draw();
  }

  private setColor(c: ColorBy): void {
    this.dispatchEvent(
      new CustomEvent('color-change', { detail: c, bubbles: true, composed: true }),
    );
  }

  private onScrub(ev: Event): void {
    const v = Number((ev.target as HTMLInputElement).value);
    const index = v >= this.assessments.length - 1 ? null : v;
    this.dispatchEvent(
      new CustomEvent('snapshot-change', { detail: index, bubbles: true, composed: true }),
    );
  }

  private onDown(ev: PointerEvent): void {
    this.drag = { x: ev.clientX, y: ev.clientY };
    this.canvas.setPointerCapture(ev.pointerId);
  }

  private onMove(ev: PointerEvent): void {
    if (!this.drag) return;
    this.view = dragView(this.view, ev.clientX - this.drag.x, ev.clientY - this.drag.y);
    this.drag = { x: ev.clientX, y: ev.clientY };
  }

  private onUp(): void {
    this.drag = null;
  }

  private draw(): void {
    const canvas = this.canvas;
    const a = this.shown;
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth || 400;
    const h = canvas.clientHeight || 300;
    if (canvas.width !== Math.round(w * dpr)) canvas.width = Math.round(w * dpr);
    if (canvas.height !== Math.round(h * dpr)) canvas.height = Math.round(h * dpr);
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    this.dataset.step = a ? String(a.step) : '';
    if (!a) {
      ctx.fillStyle = '#9ca3af';
      ctx.font = '13px system-ui, sans-serif';
      ctx.textAlign = 'center';
      ctx.fillText('No snapshot yet', w / 2, h / 2);
      return;
    }
    if (this.cloud?.source !== a) this.cloud = { source: a, points: normalizeCloud(a.embedding) };
    const p = projectCloud(this.cloud.points, this.view, w, h);
    const k = this.colorBy === 'x' ? 0 : 1;
    const size = a.size || 1;
    for (const i of p.order) {
      ctx.fillStyle = colormap(a.labels[2 * i + k] / size);
      ctx.globalAlpha = 0.55 + 0.45 * ((p.depth[i] + 1) / 2);
      ctx.beginPath();
      ctx.arc(p.x[i], p.y[i], 3, 0, 2 * Math.PI);
      ctx.fill();
    }
    ctx.globalAlpha = 1;
    drawAxes(ctx, this.view, h);
    this.dataset.points = String(p.order.length);
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'embedding-view': EmbeddingView;
  }
}
