import { LitElement, css, html } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { repeat } from 'lit/directives/repeat.js';
import './curve-view.js';
import './matrix-view.js';
import './metric-plot.js';
import { chartedMetric } from '../common/phase-rule.js';
import { groupByPrefix, matchesQuery } from './metric-groups.js';
import { namesAcross, type RunSeries } from './run-state.js';
import { cssColor, panelStyles } from './theme.js';
import type { StepRange } from './view-range.js';

type Kind = 'metric' | 'curve' | 'matrix';

/**
 * Every `metric`, `curve` and `matrix` name the selected runs recorded, with no code per
 * name: grouped into panels by the prefix before `/`, filtered by a search box, metrics
 * smoothed by the slider. Emits `query-change` and `smoothing-change`; the app holds both.
 */
@customElement('metric-panels')
export class MetricPanels extends LitElement {
  static override styles = [
    panelStyles,
    css`
      .bar {
        display: flex;
        gap: 14px;
        align-items: center;
        margin-bottom: 8px;
        font-size: 12px;
        color: ${cssColor('muted')};
      }
      .bar input[type='search'] {
        flex: 1;
        max-width: 320px;
      }
      .bar label {
        display: flex;
        gap: 6px;
        align-items: center;
      }
      .bar output {
        width: 3.2em;
        font-variant-numeric: tabular-nums;
      }
      details {
        border-top: 1px solid ${cssColor('border')};
        padding: 6px 0;
      }
      summary {
        cursor: pointer;
        font-weight: 600;
        color: ${cssColor('text')};
        padding: 2px 0 6px;
      }
      summary .count {
        font-weight: 400;
        color: ${cssColor('muted')};
        margin-left: 6px;
      }
      .grid {
        display: grid;
        grid-template-columns: repeat(auto-fill, minmax(320px, 1fr));
        gap: 12px 16px;
      }
    `,
  ];

  @property({ attribute: false }) series: RunSeries[] = [];
  @property({ attribute: false }) range: StepRange = null;
  @property({ type: Number }) revision = 0;
  @property() query = '';
  @property({ type: Number }) smoothing = 0;

  override render() {
    const kinds = new Map<string, Kind>();
    for (const n of namesAcross(this.series, (s) => s.matrices)) kinds.set(n, 'matrix');
    for (const n of namesAcross(this.series, (s) => s.curves)) kinds.set(n, 'curve');
    // Rule settings (thresholds, n, tol) and evidence figures with a `phase/` twin are no
    // charts: the phase panel shows the rule, and each figure is charted once.
    const metrics = new Set(namesAcross(this.series, (s) => s.metrics));
    for (const n of metrics) if (chartedMetric(n, metrics)) kinds.set(n, 'metric');
    const shown = [...kinds.keys()].filter((n) => matchesQuery(n, this.query));
    const groups = groupByPrefix(shown);
    this.dataset.names = groups.flatMap((g) => g.names).join(',');
    this.dataset.groups = groups.map((g) => g.prefix).join(',');
    return html`<div class="panel">
      <h2>
        Charts
        <span class="aside">${shown.length} of ${kinds.size} shown</span>
      </h2>
      <div class="bar">
        <input
          type="search"
          placeholder="filter by name (e.g. probe -loss)"
          aria-label="filter charts by name"
          .value=${this.query}
          @input=${(ev: Event) => this.emit('query-change', (ev.target as HTMLInputElement).value)}
        />
        <label
          >smoothing
          <input
            type="range"
            aria-label="smoothing"
            min="0"
            max="0.99"
            step="0.01"
            .value=${String(this.smoothing)}
            @input=${(ev: Event) =>
              this.emit('smoothing-change', Number((ev.target as HTMLInputElement).value))}
          />
          <output>${this.smoothing.toFixed(2)}</output>
        </label>
      </div>
      ${
        kinds.size === 0
          ? html`<div class="empty">No metrics yet</div>`
          : shown.length === 0
            ? html`<div class="empty">No chart matches “${this.query}”</div>`
            : repeat(
                groups,
                (g) => g.prefix,
                (g) =>
                  html`<details open data-prefix=${g.prefix}>
                    <summary>
                      ${g.prefix || 'metrics'}<span class="count">${g.names.length}</span>
                    </summary>
                    <div class="grid">
                      ${repeat(
                        g.names,
                        (n) => n,
                        (n) => this.view(n, kinds.get(n) ?? 'metric'),
                      )}
                    </div>
                  </details>`,
              )
      }
    </div>`;
  }

  private view(name: string, kind: Kind) {
    switch (kind) {
      case 'curve':
        return html`<curve-view
          data-name=${name}
          .name=${name}
          .series=${this.series}
          revision=${this.revision}
        ></curve-view>`;
      case 'matrix':
        return html`<matrix-view
          data-name=${name}
          .name=${name}
          .series=${this.series}
          revision=${this.revision}
        ></matrix-view>`;
      default:
        return html`<metric-plot
          data-name=${name}
          .name=${name}
          .series=${this.series}
          .range=${this.range}
          .smoothing=${this.smoothing}
          revision=${this.revision}
        ></metric-plot>`;
    }
  }

  private emit(type: string, detail: unknown): void {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'metric-panels': MetricPanels;
  }
}
