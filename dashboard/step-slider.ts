import { css, html, type TemplateResult } from 'lit';
import { cssColor, viewTitleStyles } from './theme.js';

/** The step shown of `steps` at `index` (null: the last, following new ones), or null. */
export function stepAt(steps: readonly number[], index: number | null): number | null {
  return steps.length ? steps[Math.min(steps.length - 1, index ?? steps.length - 1)] : null;
}

/**
 * The step slider of a per-snapshot view (curves, matrices): one position per stored step,
 * the last one live. `onIndex` gets the chosen position, or null for the last (live).
 */
export function stepSlider(
  steps: readonly number[],
  index: number | null,
  onIndex: (index: number | null) => void,
): TemplateResult {
  const n = steps.length;
  const i = Math.min(n - 1, index ?? n - 1);
  return html`<input
      type="range"
      aria-label="step"
      min="0"
      max=${Math.max(0, n - 1)}
      .value=${String(Math.max(0, i))}
      ?disabled=${n < 2}
      @input=${(ev: Event) => {
        const v = Number((ev.target as HTMLInputElement).value);
        onIndex(v >= n - 1 ? null : v);
      }}
    />
    <span>${n ? `step ${steps[i]} · ${i + 1}/${n}${index === null ? ' · live' : ''}` : '–'}</span>`;
}

/** The frame of a view with a step slider: its title, kind tag and the slider's row. */
export const stepViewStyles = [
  viewTitleStyles,
  css`
    .kind {
      font-weight: 400;
      color: ${cssColor('muted')};
      margin-left: 6px;
    }
    .controls {
      display: flex;
      gap: 8px;
      align-items: center;
      font-size: 12px;
      color: ${cssColor('muted')};
    }
    input[type='range'] {
      flex: 1;
    }
  `,
];
