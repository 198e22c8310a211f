import { LitElement, css, html, svg } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { phaseSegments, type PhaseSegment } from '../common/phase-bands.js';
import { decidingCondition, describeCondition } from '../common/phase-rule.js';
import { seriesTitle, type RunSeries } from './run-state.js';
import { ALERT_COLORS, COLORS, PHASE_COLORS, PHASE_NAMES, cssColor, panelStyles } from './theme.js';
import { niceTicks, type StepRange } from './view-range.js';

const ROW = 26;

const label = (t: string) => (t.length > 20 ? '…' + t.slice(-19) : t);
const LABEL = 130;
/** A phase entered at a run's last step still gets a band this wide, ending at that step. */
const MIN_BAND = 6;

/** A band's tooltip: the phase, its steps, and the condition that moved the run into it. */
function bandTitle(g: PhaseSegment, before: PhaseSegment | undefined): string {
  const decided = decidingCondition(before?.phase ?? null, g.phase, g.evidence);
  const why = decided
    ? `${before ? `${before.phase} → ${g.phase}` : `first assessed ${g.phase}`}: ${describeCondition(decided)}`
    : '';
  return `Phase ${PHASE_NAMES[g.phase]}\nsteps ${g.from}–${g.to} (${g.count} assessments)${why ? `\n${why}` : ''}`;
}

/** One band per run, coloured by phase along the steps, with a marker at each transition. */
@customElement('phase-timeline')
export class PhaseTimeline extends LitElement {
  static override styles = [
    panelStyles,
    css`
      svg {
        width: 100%;
        display: block;
        overflow: visible;
      }
      .legend {
        display: flex;
        gap: 14px;
        font-weight: 400;
        text-transform: none;
        letter-spacing: 0;
        color: ${cssColor('text')};
      }
      rect.seg:hover {
        opacity: 0.85;
      }
    `,
  ];

  @property({ attribute: false }) series: RunSeries[] = [];
  @property({ attribute: false }) range: StepRange = null;
  @property({ type: Number }) revision = 0;
  /** Drawn at the element's real width, so text is never stretched. */
  @state() private width = 1000;
  private readonly resize = new ResizeObserver(([entry]) => {
    this.width = Math.max(300, Math.round(entry.contentRect.width));
  });

  override connectedCallback(): void {
    super.connectedCallback();
    this.resize.observe(this);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.resize.disconnect();
  }

  override render() {
    const W = this.width - 26;
    const end = Math.max(1, ...this.series.map((s) => s.lastStep));
    const [from, to] = this.range ?? [0, end];
    const sx = (step: number) => LABEL + ((step - from) / (to - from || 1)) * (W - LABEL);
    const clampX = (step: number) => Math.max(LABEL, Math.min(W, sx(step)));
    const height = Math.max(1, this.series.length) * ROW + 18;
    const all = this.series.map((s) => phaseSegments(s.assessments, s.lastStep));
    this.dataset.phases = all.map((segs) => segs.map((g) => g.phase).join('')).join(',');
    this.dataset.bands = all
      .map((segs) => segs.map((g) => `${g.phase}:${g.from}-${g.to}`).join(' '))
      .join(',');
    this.dataset.markers = String(this.series.reduce((n, s) => n + s.phases.length, 0));
    this.dataset.alerts = String(this.series.reduce((n, s) => n + s.alerts.length, 0));
    const ticks = niceTicks(from, to, 6);
    return html`<div class="panel">
      <h2>
        Phase timeline
        <span class="aside legend">
          ${(['A', 'B', 'C'] as const).map(
            (p) =>
              html`<span
                ><i class="swatch" style="background:${PHASE_COLORS[p]}"></i>${PHASE_NAMES[p]}</span
              >`,
          )}
        </span>
      </h2>
      ${
        this.series.length === 0
          ? html`<div class="empty">Select a run</div>`
          : svg`<svg viewBox="0 0 ${W} ${height}" style="height:${height}px">
        ${this.series.map((s, row) => {
          const y = row * ROW + 2;
          return svg`
            <text x="0" y=${y + 16} font-size="12" fill=${COLORS.text}>${label(seriesTitle(s))}</text>
            <rect x=${LABEL} y=${y} width=${W - LABEL} height=${ROW - 6} fill=${COLORS.wash} rx="3"></rect>
            ${all[row].map((g, k) => {
              const x1 = clampX(g.to);
              // a phase reached at the last step has no steps yet: drawn narrow, up to that step
              const x0 =
                g.from === g.to && sx(g.to) <= W ? Math.max(LABEL, x1 - MIN_BAND) : clampX(g.from);
              if (x1 - x0 <= 0) return null;
              return svg`<rect class="seg" data-phase=${g.phase} x=${x0} y=${y} width=${Math.max(1, x1 - x0)} height=${ROW - 6}
                fill=${PHASE_COLORS[g.phase]}><title>${bandTitle(g, all[row][k - 1])}</title></rect>
                ${x1 - x0 > 18 ? svg`<text x=${(x0 + x1) / 2} y=${y + 14} font-size="11" font-weight="600" fill=${COLORS.card} text-anchor="middle" pointer-events="none">${g.phase}</text>` : null}`;
            })}
            ${s.phases.map((p) => {
              const x = sx(p.step);
              if (x < LABEL || x > W) return null;
              return svg`<g class="marker"><line x1=${x} x2=${x} y1=${y - 2} y2=${y + ROW - 4} stroke=${COLORS.inkStrong} stroke-width="2"></line>
                <path d="M ${x - 4} ${y - 2} L ${x + 4} ${y - 2} L ${x} ${y + 3} Z" fill=${COLORS.inkStrong}></path>
                <rect x=${x - 5} y=${y - 2} width="10" height=${ROW - 2} fill="transparent"><title>${markerTitle(p, s.assessments.find((a) => a.step === p.step)?.evidence ?? p.evidence)}</title></rect></g>`;
            })}
            ${s.alerts.map((a) => {
              const x = sx(a.step);
              if (x < LABEL || x > W) return null;
              const yb = y + ROW - 6;
              return svg`<g class="alert"><path d="M ${x} ${yb - 7} L ${x + 5} ${yb + 2} L ${x - 5} ${yb + 2} Z" fill=${ALERT_COLORS[a.level]} stroke=${COLORS.card} stroke-width="1"><title>${`${a.level} at step ${a.step}: ${a.message}`}</title></path></g>`;
            })}`;
        })}
        ${ticks.map(
          (t) =>
            svg`<text x=${sx(t)} y=${height - 2} font-size="11" fill=${COLORS.muted} text-anchor="middle">${t.toLocaleString()}</text>`,
        )}
      </svg>`
      }
    </div>`;
  }
}

function markerTitle(p: RunSeries['phases'][number], evidence: Record<string, number>): string {
  const decided = decidingCondition(p.from, p.to, evidence);
  return `${p.from ?? '–'} → ${p.to} at step ${p.step}${decided ? `\ndecided by ${describeCondition(decided)}` : ''}`;
}

declare global {
  interface HTMLElementTagNameMap {
    'phase-timeline': PhaseTimeline;
  }
}
