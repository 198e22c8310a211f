import { LitElement, css, html, type PropertyValues } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { AssessmentEvent, SampleThumb } from '../streams/events.js';
import { panelStyles } from './theme.js';

const SCALE = 5;

/** Draws one thumbnail, its conditioning label (+) and the detected bump (○, dashed if not 1). */
function drawThumb(canvas: HTMLCanvasElement, t: SampleThumb, size: number): void {
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
  const at = (v: number) => (v + 0.5) * SCALE;
  ctx.lineWidth = 2;
  ctx.strokeStyle = '#22d3ee';
  const [lx, ly] = [at(t.label[0]), at(t.label[1])];
  ctx.beginPath();
  ctx.moveTo(lx - 6, ly);
  ctx.lineTo(lx + 6, ly);
  ctx.moveTo(lx, ly - 6);
  ctx.lineTo(lx, ly + 6);
  ctx.stroke();
  ctx.strokeStyle = '#f43f5e';
  ctx.setLineDash(t.located.count === 1 ? [] : [3, 3]);
  ctx.beginPath();
  ctx.arc(at(t.located.x), at(t.located.y), 7, 0, 2 * Math.PI);
  ctx.stroke();
}

/** The sample thumbnails of one assessment with label and detected location marked. */
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
        background: #000;
      }
      figcaption {
        font-size: 11px;
        color: #4b5563;
        font-variant-numeric: tabular-nums;
      }
      .key {
        font-weight: 400;
        text-transform: none;
        letter-spacing: 0;
      }
      .label {
        color: #0891b2;
      }
      .found {
        color: #e11d48;
      }
    `,
  ];

  @property({ attribute: false }) assessment?: AssessmentEvent;

  override render() {
    const a = this.assessment;
    return html`<div class="panel">
      <h2>
        Samples
        <span class="aside key">
          ${a ? `step ${a.step} · ` : ''}<span class="label">+ label</span> ·
          <span class="found">○ detected</span> (dashed: not exactly one bump)
        </span>
      </h2>
      ${
        a?.samples.length
          ? html`<div class="grid">
              ${a.samples.map(
                (t) =>
                  html`<figure>
                    <canvas
                      title=${`label (${t.label[0].toFixed(1)}, ${t.label[1].toFixed(1)}) · detected (${t.located.x.toFixed(1)}, ${t.located.y.toFixed(1)}), ${t.located.count} bump(s)`}
                    ></canvas>
                    <figcaption>
                      ${t.label[0].toFixed(1)},
                      ${t.label[1].toFixed(1)}${t.located.count === 1 ? '' : ` · ${t.located.count} bumps`}
                    </figcaption>
                  </figure>`,
              )}
            </div>`
          : html`<div class="empty">No samples yet</div>`
      }
    </div>`;
  }

  override updated(changed: PropertyValues<this>): void {
    const a = this.assessment;
    if (!changed.has('assessment') || !a) return;
    const canvases = this.renderRoot.querySelectorAll('canvas');
    a.samples.forEach((t, i) => {
      const c = canvases[i];
      if (c) drawThumb(c, t, a.size);
    });
    this.dataset.step = String(a.step);
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'sample-grid': SampleGrid;
  }
}
