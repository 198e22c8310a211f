import { css } from 'lit';
import type { Phase } from '../streams/events.js';

export const PHASE_COLORS: Record<Phase, string> = {
  A: '#9ca3af',
  B: '#f59e0b',
  C: '#16a34a',
};

export const PHASE_NAMES: Record<Phase, string> = {
  A: 'A · no structure',
  B: 'B · 2-D, disordered',
  C: 'C · 2-D, ordered',
};

const RUN_COLORS = ['#2563eb', '#dc2626', '#7c3aed', '#0891b2', '#ea580c', '#4d7c0f'];

/** A run's colour, stable by its position in the selection. */
export function runColor(index: number): string {
  return RUN_COLORS[index % RUN_COLORS.length];
}

/** Type and ink of the whole dashboard. */
export const textStyle = css`
  font:
    13px/1.4 system-ui,
    -apple-system,
    'Segoe UI',
    Roboto,
    sans-serif;
  color: #1f2937;
`;

/** The card every view sits in. */
export const panelStyles = css`
  :host {
    display: block;
    ${textStyle}
  }
  .panel {
    background: #fff;
    border: 1px solid #e5e7eb;
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
    color: #6b7280;
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
    color: #9ca3af;
    padding: 24px 0;
    text-align: center;
  }
`;
