import { LitElement, css, html, type PropertyValues } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { ImageMark, ImageThumb } from '../streams/events.js';
import type { ImagesSnap } from './run-state.js';
import { COLORS, cssColor, panelStyles } from './theme.js';

const SCALE = 5;

/**
 * Draws one marker over a thumbnail: `label` (where it should be) a cross, `found` (where it
 * is) a circle, `found?` (found, but not exactly one) a dashed circle, any other kind a dot.
 */
function drawMark(ctx: CanvasRenderingContext2D, m: ImageMark): void {
  const [x, y] = [(m.x + 0.5) * SCALE, (m.y + 0.5) * SCALE];
  ctx.lineWidth = 2;
  ctx.setLineDash([]);
  ctx.beginPath();
  if (m.kind === 'label') {
    ctx.strokeStyle = COLORS.markLabel;
    ctx.moveTo(x - 6, y);
    ctx.lineTo(x + 6, y);
    ctx.moveTo(x, y - 6);
    ctx.lineTo(x, y + 6);
    ctx.stroke();
  } else if (m.kind === 'found' || m.kind === 'found?') {
    ctx.strokeStyle = COLORS.markFound;
    if (m.kind === 'found?') ctx.setLineDash([3, 3]);
    ctx.arc(x, y, 7, 0, 2 * Math.PI);
    ctx.stroke();
  } else {
    ctx.fillStyle = COLORS.markOther;
    ctx.arc(x, y, 3, 0, 2 * Math.PI);
    ctx.fill();
  }
}

/** Draws one thumbnail (grey levels 0..255) scaled up crisply, with its marks. */
function drawThumb(canvas: HTMLCanvasElement, t: ImageThumb, size: number): void {
  const px = size * SCALE;
  canvas.width = px;
  canvas.height = px;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const img = ctx.createImageData(size, size);
  for (let i = 0; i < size * size; i++) {
    const v = t.pixels[i] ?? 0;
    img.data.set([v, v, v, 255], 4 * i);
  }
  // Scale the pixels up crisply through a size×size scratch canvas.
  const scratch = document.createElement('canvas');
  scratch.width = size;
  scratch.height = size;
  scratch.getContext('2d')?.putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(scratch, 0, 0, px, px);
  for (const m of t.marks ?? []) drawMark(ctx, m);
}

/**
 * A grid of sample images (an `images` event, or a bump assessment's samples) with captions
 * and marks; a selector when the run logs several grids. Emits `images-change` with a name.
 */
@customElement('sample-grid')
export class SampleGrid extends LitElement {
  static override styles = [
    panelStyles,
    css`
      .grid {
        display: grid;
        grid-template-columns: repeat(auto-fill, minmax(84px, 1fr));
        gap: 10px;
      }
      figure {
        margin: 0;
        text-align: center;
      }
      canvas {
        width: 80px;
        height: 80px;
        image-rendering: pixelated;
        border-radius: 4px;
        background: ${cssColor('black')};
      }
      figcaption {
        font-size: 11px;
        color: ${cssColor('textSoft')};
        font-variant-numeric: tabular-nums;
      }
      .key {
        font-weight: 400;
        text-transform: none;
        letter-spacing: 0;
      }
      .label {
        color: ${cssColor('markLabelText')};
      }
      .found {
        color: ${cssColor('markFoundText')};
      }
      .run {
        font-weight: 600;
        text-transform: none;
        letter-spacing: 0;
      }
    `,
  ];

  @property({ attribute: false }) snap?: ImagesSnap;
  @property({ attribute: false }) names: string[] = [];
  @property() name = '';
  @property() heading = '';
  @property() headingColour = '';

  override render() {
    const a = this.snap;
    const kinds = new Set(a?.thumbs.flatMap((t) => (t.marks ?? []).map((m) => m.kind)) ?? []);
    return html`<div class="panel">
      <h2>
        Samples
        ${
          this.heading
            ? html`<span class="run" style=${`color:${this.headingColour}`}>${this.heading}</span>`
            : ''
        }
        <span class="aside key">
          ${a ? `step ${a.step}` : ''}
          ${kinds.has('label') ? html` · <span class="label">+ label</span>` : ''}
          ${kinds.has('found') || kinds.has('found?') ? html` · <span class="found">○ found</span>` : ''}
          ${kinds.has('found?') ? ' (dashed: not exactly one)' : ''}
        </span>
      </h2>
      ${
        this.names.length > 1
          ? html`<div class="controls">
              <select
                aria-label="images"
                @change=${(ev: Event) =>
                  this.dispatchEvent(
                    new CustomEvent('images-change', {
                      detail: (ev.target as HTMLSelectElement).value,
                      bubbles: true,
                      composed: true,
                    }),
                  )}
              >
                ${this.names.map((n) => html`<option .selected=${n === this.name}>${n}</option>`)}
              </select>
            </div>`
          : ''
      }
      ${
        a?.thumbs.length
          ? html`<div class="grid">
              ${a.thumbs.map(
                (t) =>
                  html`<figure>
                    <canvas title=${t.caption ?? ''}></canvas>
                    ${t.caption ? html`<figcaption>${t.caption}</figcaption>` : ''}
                  </figure>`,
              )}
            </div>`
          : html`<div class="empty">No samples yet</div>`
      }
    </div>`;
  }

  override updated(changed: PropertyValues<this>): void {
    const a = this.snap;
    if (!changed.has('snap') || !a) return;
    const canvases = this.renderRoot.querySelectorAll('canvas');
    a.thumbs.forEach((t, i) => {
      const c = canvases[i];
      if (c) drawThumb(c, t, a.size);
    });
    this.dataset.step = String(a.step);
    this.dataset.thumbs = String(a.thumbs.length);
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'sample-grid': SampleGrid;
  }
}
