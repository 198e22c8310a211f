import { LitElement, css, html } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import type { RunMeta } from '../streams/events.js';
import { configDiff, runTitle } from './runs-query.js';
import { cssColor, panelStyles, runColor } from './theme.js';

/** The config of the selected runs side by side: the keys that differ, or every key. */
@customElement('config-diff')
export class ConfigDiff extends LitElement {
  static override styles = [
    panelStyles,
    css`
      table {
        border-collapse: collapse;
        font-variant-numeric: tabular-nums;
      }
      th,
      td {
        text-align: left;
        padding: 3px 10px 3px 0;
        border-bottom: 1px solid ${cssColor('wash')};
        white-space: nowrap;
      }
      th {
        font-size: 12px;
      }
      td.key {
        color: ${cssColor('muted')};
      }
      tr.differs td.value {
        font-weight: 600;
      }
      label {
        font-weight: 400;
        text-transform: none;
        letter-spacing: 0;
      }
      .scroll {
        overflow: auto;
        max-height: 240px;
      }
    `,
  ];

  @property({ attribute: false }) runs: RunMeta[] = [];
  @state() private all = false;

  override render() {
    const rows = configDiff(this.runs, this.all);
    this.dataset.keys = rows.map((r) => r.key).join(',');
    return html`<div class="panel">
      <h2>
        Config
        <span class="aside">
          <label
            ><input
              type="checkbox"
              .checked=${this.all}
              @change=${(ev: Event) => (this.all = (ev.target as HTMLInputElement).checked)}
            />
            every key</label
          >
        </span>
      </h2>
      ${
        rows.length === 0
          ? html`<div class="empty">The selected runs have the same config</div>`
          : html`<div class="scroll">
              <table>
                <thead>
                  <tr>
                    <th></th>
                    ${this.runs.map(
                      (r, i) => html`<th style=${`color:${runColor(i)}`}>${runTitle(r)}</th>`,
                    )}
                  </tr>
                </thead>
                <tbody>
                  ${rows.map(
                    (row) =>
                      html`<tr class=${row.differs ? 'differs' : ''} data-key=${row.key}>
                        <td class="key">${row.key}</td>
                        ${row.values.map((v) => html`<td class="value">${v}</td>`)}
                      </tr>`,
                  )}
                </tbody>
              </table>
            </div>`
      }
    </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'config-diff': ConfigDiff;
  }
}
