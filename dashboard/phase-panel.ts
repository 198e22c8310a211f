import { LitElement, css, html } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import {
  C_CONDITIONS,
  ONE_BUMP,
  PHASE_CONDITIONS,
  decidingCondition,
  describeCondition,
  type PhaseCondition,
} from '../common/phase-rule.js';
import './metric-plot.js';
import { seriesTitle, type MetricSeries, type RunSeries } from './run-state.js';
import { COLORS, PHASE_COLORS, PHASE_NAMES, cssColor, panelStyles } from './theme.js';
import type { StepRange } from './view-range.js';

/**
 * What decides a bump run's phase, at the top of its view: the phase it is in, the rule with
 * the thresholds its assessments were judged by (read from their evidence), each condition's
 * figure over steps with its threshold as a dashed line, and the figure that decided the last
 * transition highlighted.
 */
@customElement('phase-panel')
export class PhasePanel extends LitElement {
  static override styles = [
    panelStyles,
    css`
      .now {
        display: flex;
        align-items: baseline;
        gap: 12px;
        flex-wrap: wrap;
        margin-bottom: 6px;
      }
      .badge {
        color: ${cssColor('card')};
        font-weight: 700;
        border-radius: 4px;
        padding: 2px 8px;
      }
      .rule {
        color: ${cssColor('textSoft')};
        margin-bottom: 8px;
      }
      .rule b {
        color: ${cssColor('ink')};
        font-weight: 600;
      }
      .warning {
        color: ${cssColor('warnInk')};
      }
      .grid {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(240px, 1fr));
        gap: 10px 14px;
      }
      .cond {
        border: 1px solid ${cssColor('border')};
        border-radius: 6px;
        padding: 4px 6px;
        --plot-height: 130px;
      }
      .cond.decided {
        border: 2px solid ${cssColor('inkStrong')};
        background: ${cssColor('accentWash')};
      }
      .cond .why {
        font-size: 11px;
        color: ${cssColor('muted')};
      }
      .cond.decided .why {
        color: ${cssColor('ink')};
        font-weight: 600;
      }
    `,
  ];

  /** The run whose phase is shown. */
  @property({ attribute: false }) series?: RunSeries;
  @property({ attribute: false }) range: StepRange = null;
  @property({ type: Number }) revision = 0;
  /** Says which run this is, when several are selected. */
  @property({ type: Boolean }) titled = false;

  override render() {
    const s = this.series;
    const latest = s?.assessments.at(-1);
    if (!s || !latest) return html``;
    const evidence = latest.evidence;
    const last = s.phases.at(-1);
    const phase = last?.to ?? latest.phase;
    // The transition's own assessment carries every figure (a phase event may carry none).
    const at = last && s.assessments.find((a) => a.step === last.step);
    const decided = last && decidingCondition(last.from, last.to, at?.evidence ?? last.evidence);
    const t = (c: PhaseCondition) => evidence[c.threshold];
    const shown = PHASE_CONDITIONS.filter((c) => Number.isFinite(t(c)));
    this.dataset.phase = phase;
    this.dataset.decided = decided?.condition.figure ?? '';
    this.dataset.conditions = shown.map((c) => `${c.figure}>=${t(c)}`).join(',');
    return html`<div class="panel">
      <h2>Phase${this.titled ? html`<span class="aside">${seriesTitle(s)}</span>` : ''}</h2>
      <div class="now">
        <span class="badge" style="background:${PHASE_COLORS[phase]}">${PHASE_NAMES[phase]}</span>
        ${
          last
            ? html`<span class="transition"
                >${last.from ?? '–'} → ${last.to} at step
                ${last.step.toLocaleString()}${
                  decided ? html`, decided by <b>${describeCondition(decided)}</b>` : ''
                }</span
              >`
            : ''
        }
        ${latest.warning ? html`<span class="warning">${latest.warning}</span>` : ''}
      </div>
      ${shown.length ? this.rule(t) : ''}
      <div class="grid">
        ${shown.map((c) => {
          const isDecided = decided?.condition === c;
          return html`<div class="cond ${isDecided ? 'decided' : ''}" data-condition=${c.figure}>
            <metric-plot
              .name=${c.metric}
              .series=${[this.figureSeries(s, c)]}
              .rules=${[t(c)]}
              .range=${this.range}
              .legend=${false}
              .colours=${[COLORS.accent]}
              revision=${this.revision}
            ></metric-plot>
            <div class="why">
              ${c.label} ≥
              ${t(c)}${isDecided ? ` · decided ${last?.from ?? '–'} → ${last?.to}` : ''}
            </div>
          </div>`;
        })}
      </div>
    </div>`;
  }

  private rule(t: (c: PhaseCondition) => number) {
    const cs = C_CONDITIONS.filter((c) => Number.isFinite(t(c)));
    return html`<div class="rule">
      <b>A</b> while ${ONE_BUMP.label} &lt; ${t(ONE_BUMP)} ·
      ${
        cs.length
          ? html`<b>C</b> when
              ${cs.map((c, i) => html`${i ? (i === cs.length - 1 ? ' and ' : ', ') : ''}${c.label} ≥ ${t(c)}`)}
              · <b>B</b> otherwise`
          : html`<b>B</b> otherwise`
      }
    </div>`;
  }

  /** The condition's figure at each assessment, under the metric name it is charted as. */
  private figureSeries(s: RunSeries, c: PhaseCondition): RunSeries {
    const m: MetricSeries = { steps: [], values: [] };
    for (const a of s.assessments) {
      const v = a.evidence[c.figure];
      if (!Number.isFinite(v)) continue;
      m.steps.push(a.step);
      m.values.push(v);
    }
    return { ...s, metrics: new Map([[c.metric, m]]) };
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'phase-panel': PhasePanel;
  }
}
