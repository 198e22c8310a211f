import { LitElement, css, html } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { RunMeta } from '../streams/events.js';
import { PHASE_COLORS, panelStyles, runColor } from './theme.js';

/**
 * Every run the server knows, live and stored. A click (or Enter) shows one run; the
 * checkbox, or a click with Ctrl/Cmd/Shift, adds runs to compare. Emits `selection-change` with the new list of run ids.
 */
@customElement('run-list')
export class RunList extends LitElement {
  static override styles = [
    panelStyles,
    css`
      ul {
        list-style: none;
        margin: 0;
        padding: 0;
      }
      li {
        display: grid;
        grid-template-columns: 18px 1fr auto;
        gap: 2px 8px;
        align-items: center;
        padding: 7px 6px;
        border-radius: 6px;
        cursor: pointer;
        border-left: 3px solid transparent;
      }
      li:focus-visible {
        outline: 2px solid #2563eb;
        outline-offset: -2px;
      }
      li:hover {
        background: #f3f4f6;
      }
      li[aria-selected='true'] {
        background: #eff6ff;
      }
      .id {
        font-weight: 600;
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
        font-variant-numeric: tabular-nums;
      }
      .sub {
        grid-column: 2 / 4;
        color: #6b7280;
        font-size: 12px;
        display: flex;
        gap: 8px;
        align-items: center;
      }
      .status::before {
        content: '';
        display: inline-block;
        width: 7px;
        height: 7px;
        border-radius: 50%;
        margin-right: 4px;
        background: #9ca3af;
      }
      .status.running::before {
        background: #22c55e;
      }
      .status.failed::before {
        background: #ef4444;
      }
      .phase {
        color: #fff;
        border-radius: 3px;
        padding: 0 6px;
        font-weight: 700;
        font-size: 11px;
      }
    `,
  ];

  @property({ attribute: false }) runs: RunMeta[] = [];
  @property({ attribute: false }) selected: string[] = [];

  override render() {
    const runs = [...this.runs].reverse();
    return html`<div class="panel">
      <h2>Runs <span class="aside">${this.runs.length}</span></h2>
      ${
        runs.length === 0
          ? html`<div class="empty">No runs yet</div>`
          : html`<ul role="listbox" aria-multiselectable="true">
              ${runs.map((r) => {
                const at = this.selected.indexOf(r.runId);
                return html`<li
                  role="option"
                  data-run=${r.runId}
                  aria-selected=${at >= 0}
                  style=${at >= 0 ? `border-left-color:${runColor(at)}` : ''}
                  tabindex="0"
                  @click=${(ev: MouseEvent) =>
                    this.choose(r.runId, ev.ctrlKey || ev.metaKey || ev.shiftKey)}
                  @keydown=${(ev: KeyboardEvent) => {
                    if (ev.key !== 'Enter' && ev.key !== ' ') return;
                    ev.preventDefault();
                    this.choose(r.runId, ev.ctrlKey || ev.metaKey || ev.shiftKey);
                  }}
                >
                  <input
                    type="checkbox"
                    title="compare"
                    .checked=${at >= 0}
                    @click=${(ev: Event) => {
                      ev.stopPropagation();
                      this.choose(r.runId, true);
                    }}
                  />
                  <span class="id" title=${r.runId}>${r.runId}</span>
                  ${
                    r.phase
                      ? html`<span class="phase" style="background:${PHASE_COLORS[r.phase]}"
                          >${r.phase}</span
                        >`
                      : html`<span></span>`
                  }
                  <span class="sub">
                    <span class="status ${r.status}">${r.status}</span>
                    <span>${r.backend}</span>
                    ${r.lastStep !== undefined ? html`<span>step ${r.lastStep}</span>` : ''}
                  </span>
                </li>`;
              })}
            </ul>`
      }
    </div>`;
  }

  private choose(runId: string, toggle: boolean): void {
    let next: string[];
    if (!toggle) next = [runId];
    else if (this.selected.includes(runId)) next = this.selected.filter((id) => id !== runId);
    else next = [...this.selected, runId];
    this.dispatchEvent(
      new CustomEvent('selection-change', { detail: next, bubbles: true, composed: true }),
    );
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'run-list': RunList;
  }
}
