import { LitElement, css, html } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import type { AlertEvent } from '../streams/events.js';
import { seriesTitle, type RunSeries } from './run-state.js';
import { cssColor, textStyle } from './theme.js';

const SHOWN = 3;

type Shown = Pick<AlertEvent, 'runId' | 'seq' | 'step' | 'time' | 'level' | 'message'>;

/** A run that failed says so, with its error, as an alert would. */
function endAlert(run: RunSeries): Shown[] {
  const end = run.end;
  if (end?.status !== 'failed') return [];
  const { runId, seq, step, time } = end;
  return [
    {
      runId,
      seq,
      step,
      time,
      level: 'error',
      message: `run failed: ${end.error ?? 'no error recorded'}`,
    },
  ];
}

/** True when a run has something for the banner. */
export function hasAlerts(run: RunSeries): boolean {
  return run.alerts.length > 0 || run.end?.status === 'failed';
}

/**
 * The `alert` events of the selected runs, and the error of a run that failed, as banners,
 * newest first, each dismissable; the three newest shown, the rest counted.
 */
@customElement('alert-banner')
export class AlertBanner extends LitElement {
  static override styles = css`
    :host {
      display: block;
      ${textStyle}
    }
    .alert {
      display: flex;
      align-items: baseline;
      gap: 8px;
      border: 1px solid;
      border-radius: 6px;
      padding: 6px 10px;
      margin-bottom: 6px;
    }
    .info {
      background: ${cssColor('infoWash')};
      color: ${cssColor('infoInk')};
      border-color: ${cssColor('infoBorder')};
    }
    .warning {
      background: ${cssColor('warnWash')};
      color: ${cssColor('warnInk')};
      border-color: ${cssColor('warnBorder')};
    }
    .error {
      background: ${cssColor('errorWash')};
      color: ${cssColor('errorInk')};
      border-color: ${cssColor('errorBorder')};
    }
    .level {
      font-weight: 700;
      text-transform: uppercase;
      font-size: 11px;
    }
    .where {
      opacity: 0.8;
      font-size: 12px;
    }
    .message {
      flex: 1;
    }
    button {
      font: inherit;
      border: none;
      background: none;
      color: inherit;
      cursor: pointer;
      padding: 0 4px;
    }
    .more {
      font-size: 12px;
      color: ${cssColor('muted')};
    }
  `;

  @property({ attribute: false }) series: RunSeries[] = [];
  @property({ type: Number }) revision = 0;
  @state() private dismissed = new Set<string>();

  override render() {
    const all: Array<{ alert: Shown; run: RunSeries }> = [];
    for (const run of this.series) {
      for (const alert of [...run.alerts, ...endAlert(run)]) {
        if (!this.dismissed.has(`${alert.runId}:${alert.seq}`)) all.push({ alert, run });
      }
    }
    all.sort((a, b) => b.alert.time - a.alert.time || b.alert.seq - a.alert.seq);
    this.dataset.count = String(all.length);
    return html`${all.slice(0, SHOWN).map(
      ({ alert, run }) =>
        html`<div class="alert ${alert.level}" role="alert">
          <span class="level">${alert.level}</span>
          <span class="message">${alert.message}</span>
          <span class="where">${seriesTitle(run)} · step ${alert.step}</span>
          <button
            title="dismiss"
            aria-label="dismiss"
            @click=${() => (this.dismissed = new Set([...this.dismissed, `${alert.runId}:${alert.seq}`]))}
          >
            ×
          </button>
        </div>`,
    )}
    ${all.length > SHOWN ? html`<div class="more">and ${all.length - SHOWN} more alerts</div>` : ''}`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'alert-banner': AlertBanner;
  }
}
