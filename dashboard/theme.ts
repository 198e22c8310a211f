import { css, unsafeCSS, type CSSResult } from 'lit';

import { MARK_COLORS } from '../common/colours.js';

export { COLORMAP_STOPS, PHASE_COLORS, PHASE_NAMES, withAlpha } from '../common/colours.js';

/**
 * Every colour the dashboard uses, by role. Views read them from here (canvas drawing uses
 * the strings, styles use `cssColor`), so the palette is changed in one place.
 */
export const COLORS = {
  /** Body text. */
  ink: '#1f2937',
  /** Header band and the darkest marks. */
  inkStrong: '#111827',
  text: '#374151',
  textSoft: '#4b5563',
  muted: '#6b7280',
  faint: '#9ca3af',
  border: '#e5e7eb',
  borderStrong: '#d1d5db',
  /** Page background, chart grid lines, hovered rows, empty timeline bands. */
  wash: '#f3f4f6',
  card: '#ffffff',
  canvas: '#fafafa',
  onDark: '#f9fafb',
  /** Thumbnails' background. */
  black: '#000000',
  accent: '#2563eb',
  accentWash: '#eff6ff',
  live: '#22c55e',
  pending: '#f59e0b',
  failed: '#ef4444',
  errorWash: '#fef2f2',
  errorInk: '#991b1b',
  errorBorder: '#fecaca',
  warnWash: '#fffbeb',
  warnInk: '#92400e',
  warnBorder: '#fde68a',
  infoWash: '#eff6ff',
  infoInk: '#1e40af',
  infoBorder: '#bfdbfe',
  /** Sample marks: where the label says the bump should be, and where one was found. */
  markLabel: MARK_COLORS.label,
  markFound: MARK_COLORS.found,
  markOther: '#facc15',
  markLabelText: '#0891b2',
  markFoundText: '#e11d48',
} as const;

export type ColorRole = keyof typeof COLORS;

/** A colour for use inside a `css` template. */
export function cssColor(role: ColorRole): CSSResult {
  return unsafeCSS(COLORS[role]);
}

export const ALERT_COLORS: Record<'info' | 'warning' | 'error', string> = {
  info: '#2563eb',
  warning: '#d97706',
  error: '#dc2626',
};

const RUN_COLORS = ['#2563eb', '#dc2626', '#7c3aed', '#0891b2', '#ea580c', '#4d7c0f'];

/** A run's colour, stable by its position in the selection. */
export function runColor(index: number): string {
  return RUN_COLORS[index % RUN_COLORS.length];
}

/** Colours for categorical values (class labels), told apart at a glance. */
const CATEGORY_COLORS = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];

export function categoryColor(index: number): string {
  return CATEGORY_COLORS[
    ((index % CATEGORY_COLORS.length) + CATEGORY_COLORS.length) % CATEGORY_COLORS.length
  ];
}

/** Type and ink of the whole dashboard. */
export const textStyle = css`
  font:
    13px/1.4 system-ui,
    -apple-system,
    'Segoe UI',
    Roboto,
    sans-serif;
  color: ${cssColor('ink')};
`;

/** A small view's frame: a block in the page's text, its bold title line (`.title`). */
export const viewTitleStyles = css`
  :host {
    display: block;
    ${textStyle}
  }
  .title {
    font-size: 12px;
    font-weight: 600;
    color: ${cssColor('text')};
  }
`;

/** The card every view sits in. */
export const panelStyles = css`
  :host {
    display: block;
    ${textStyle}
  }
  .panel {
    background: ${cssColor('card')};
    border: 1px solid ${cssColor('border')};
    border-radius: 8px;
    padding: 10px 12px;
    height: 100%;
    box-sizing: border-box;
  }
  h2 {
    margin: 0 0 8px;
    font-size: 12px;
    font-weight: 600;
    letter-spacing: 0.04em;
    text-transform: uppercase;
    color: ${cssColor('muted')};
    display: flex;
    align-items: center;
    gap: 8px;
  }
  h2 .aside {
    margin-left: auto;
    font-weight: 400;
    text-transform: none;
    letter-spacing: 0;
  }
  .empty {
    color: ${cssColor('faint')};
    padding: 24px 0;
    text-align: center;
  }
  select,
  input[type='search'] {
    font: inherit;
    border: 1px solid ${cssColor('borderStrong')};
    border-radius: 4px;
    background: ${cssColor('card')};
    color: ${cssColor('ink')};
    padding: 2px 6px;
  }
  .controls {
    display: flex;
    align-items: center;
    gap: 10px;
    margin-top: 8px;
  }
  .controls input[type='range'] {
    flex: 1;
  }
  .swatch {
    display: inline-block;
    width: 10px;
    height: 10px;
    border-radius: 2px;
    margin-right: 4px;
    vertical-align: -1px;
  }
`;
