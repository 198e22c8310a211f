import { LitElement, css, html, unsafeCSS, type PropertyValues } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import { colourScale, type ColourScale } from './colour-scale.js';
import { colormap, dragView, normalizeCloud, projectCloud, type View } from './projection.js';
import { atStep, type EmbeddingSnap } from './run-state.js';
import { COLORS, PHASE_COLORS, cssColor, panelStyles } from './theme.js';

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
    ctx.strokeStyle = ctx.fillStyle = COLORS.muted;
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

function short(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(3)));
}

/**
 * The 3-D embedding of one snapshot as a scatter you can turn by dragging, coloured by any
 * field the embedding carries (`colourBy`), with a scrubber over the run's snapshots. Which
 * embedding, which field and which step are the app's (shared by side-by-side views); this
 * view asks for changes with `embedding-change`, `colour-change` and `snapshot-change`
 * (a step, or null to follow the newest).
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
        background: ${cssColor('canvas')};
        border-radius: 6px;
      }
      .phase {
        color: ${cssColor('card')};
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
      .legend {
        font-size: 11px;
        color: ${cssColor('muted')};
        display: flex;
        gap: 6px;
        align-items: center;
        flex-wrap: wrap;
      }
      .run {
        font-weight: 600;
        text-transform: none;
        letter-spacing: 0;
      }
    `,
  ];

  /** The snapshots of the chosen embedding, in step order. */
  @property({ attribute: false }) snaps: EmbeddingSnap[] = [];
  /** Every embedding name the shown runs hold. */
  @property({ attribute: false }) names: string[] = [];
  @property() name = '';
  /** The step shown, or null for the newest. */
  @property({ attribute: false }) step: number | null = null;
  @property() colourBy = '';
  /**
   * The snapshots drawn beside this one (other runs compared): each field gets one colour scale
   * across them all, so a colour means the same value in every panel.
   */
  @property({ attribute: false }) peers: readonly (EmbeddingSnap | undefined)[] = [];
  /** The run's title and colour, when views of several runs stand side by side. */
  @property() heading = '';
  @property() headingColour = '';
  @property({ type: Number }) revision = 0;
  @state() private view: View = { yaw: 0.55, pitch: 0.6 };
  @query('canvas') private canvas!: HTMLCanvasElement;
  private drag: { x: number; y: number } | null = null;
  private drawn = '';
  private cloud: { source: EmbeddingSnap; points: Float32Array } | null = null;

  private get shown(): EmbeddingSnap | undefined {
    return atStep(this.snaps, this.step);
  }

  /** The field colouring the points: the chosen one if the snapshot has it, else its first. */
  private get field(): string {
    const keys = Object.keys(this.shown?.colourBy ?? {});
    return keys.includes(this.colourBy) ? this.colourBy : (keys[0] ?? '');
  }

  override render() {
    const a = this.shown;
    const n = this.snaps.length;
    const i = a ? this.snaps.indexOf(a) : -1;
    const fields = Object.keys(a?.colourBy ?? {});
    const field = this.field;
    const scale = a && field ? this.scaleOf(a, field) : null;
    return html`<div class="panel">
      <h2>
        Embedding
        ${
          this.heading
            ? html`<span class="run" style=${`color:${this.headingColour}`}>${this.heading}</span>`
            : ''
        }
        <span class="aside">
          ${
            a
              ? html`drag to rotate · step ${a.step}
                ${
                  a.phase
                    ? html`·
                        <span class="phase" style="background:${PHASE_COLORS[a.phase]}"
                          >${a.phase}</span
                        >`
                    : ''
                }
                ${a.r2 !== undefined ? html`· R² ${a.r2.toFixed(2)}` : ''}`
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
        ${
          this.names.length > 1
            ? html`<select
                aria-label="embedding"
                @change=${(ev: Event) =>
                  this.emit('embedding-change', (ev.target as HTMLSelectElement).value)}
              >
                ${this.names.map((nm) => html`<option .selected=${nm === this.name}>${nm}</option>`)}
              </select>`
            : ''
        }
        <label class="legend"
          >colour by
          <select
            aria-label="colour by"
            ?disabled=${fields.length < 2}
            @change=${(ev: Event) => this.emit('colour-change', (ev.target as HTMLSelectElement).value)}
          >
            ${fields.map((f) => html`<option .selected=${f === field}>${f}</option>`)}
          </select>
        </label>
        ${scale ? this.legend(scale) : ''}
        <input
          type="range"
          aria-label="snapshot"
          min="0"
          max=${Math.max(0, n - 1)}
          .value=${String(Math.max(0, i))}
          ?disabled=${n < 2}
          @input=${this.onScrub}
        />
        <span>${n ? `${i + 1}/${n}` : '–'}${this.step === null && n ? ' · live' : ''}</span>
      </div>
    </div>`;
  }

  /** One scale for `field` across this snapshot and its peers'. */
  private scaleOf(a: EmbeddingSnap, field: string): ColourScale {
    const all = [a, ...this.peers.filter((p) => p && p !== a)];
    return colourScale(all.flatMap((s) => s?.colourBy[field] ?? []));
  }

  private legend(scale: ColourScale) {
    if (scale.kind === 'categorical') {
      return html`<span class="legend">
        ${scale.categories
          .slice(0, 10)
          .map(
            (v) =>
              html`<span
                ><i class="swatch" style="background:${scale.colour(v)}"></i>${short(v)}</span
              >`,
          )}
      </span>`;
    }
    return html`<span class="legend"
      >${short(scale.min)} <i class="ramp" title="low → high"></i> ${short(scale.max)}</span
    >`;
  }

  override updated(_changed: PropertyValues): void {
    // Redraw only when what is shown changed, not on every event of the run.
    const a = this.shown;
    const key = [
      a?.runId,
      a?.seq,
      a?.name,
      this.view.yaw,
      this.view.pitch,
      this.field,
      this.canvas.clientWidth,
    ].join();
    if (key === this.drawn) return;
    this.drawn = key;
    this.draw();
  }

  private emit(type: string, detail: unknown): void {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }

  private onScrub(ev: Event): void {
    const v = Number((ev.target as HTMLInputElement).value);
    this.emit('snapshot-change', v >= this.snaps.length - 1 ? null : this.snaps[v].step);
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
    this.dataset.colourBy = this.field;
    if (!a) {
      ctx.fillStyle = COLORS.faint;
      ctx.font = '13px system-ui, sans-serif';
      ctx.textAlign = 'center';
      ctx.fillText('No snapshot yet', w / 2, h / 2);
      this.dataset.points = '0';
      return;
    }
    if (this.cloud?.source !== a) this.cloud = { source: a, points: normalizeCloud(a.points) };
    const p = projectCloud(this.cloud.points, this.view, w, h);
    const values = a.colourBy[this.field];
    const scale = values ? this.scaleOf(a, this.field) : null;
    this.dataset.scale = scale
      ? `${scale.kind}:${scale.kind === 'categorical' ? scale.categories.join('|') : `${scale.min}-${scale.max}`}`
      : '';
    for (const i of p.order) {
      ctx.fillStyle = scale && values ? scale.colour(values[i]) : COLORS.accent;
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
