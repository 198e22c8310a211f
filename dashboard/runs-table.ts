import { LitElement, css, html } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import type { RunMeta } from '../streams/events.js';
import {
  configColumns,
  configKeys,
  filterRuns,
  formatValue,
  runField,
  runTitle,
  sortRuns,
} from './runs-query.js';
import { parseTags, type LabelsPatch } from './labels-api.js';
import { PHASE_COLORS, cssColor, panelStyles, runColor } from './theme.js';

/** `labels-edit`'s detail: the change, and where to say how it went (an error, or none). */
export interface LabelsEdit {
  runId: string;
  patch: LabelsPatch;
  reply(error?: string): void;
}

/** Where the user's choice of config columns is kept between visits. */
export const COLUMNS_STORAGE_KEY = 'phasewatch.runs-table.columns';

function loadColumns(): string[] | null {
  try {
    const v: unknown = JSON.parse(localStorage.getItem(COLUMNS_STORAGE_KEY) ?? 'null');
    return Array.isArray(v) && v.every((k) => typeof k === 'string') ? v : null;
  } catch {
    return null; // storage off or unreadable: the default columns
  }
}

function saveColumns(keys: string[] | null): void {
  try {
    if (keys) localStorage.setItem(COLUMNS_STORAGE_KEY, JSON.stringify(keys));
    else localStorage.removeItem(COLUMNS_STORAGE_KEY);
  } catch {
    // storage off: the choice holds for this page only
  }
}

const BUILT_IN: ReadonlyArray<{ key: string; label: string }> = [
  { key: 'name', label: 'name' },
  { key: 'status', label: 'status' },
  { key: 'phase', label: 'phase' },
  { key: 'tags', label: 'tags' },
  { key: 'created', label: 'created' },
  { key: 'step', label: 'step' },
  { key: 'backend', label: 'backend' },
];

/**
 * Every run the server knows, live and stored, as a table: name, status (with the error of a
 * failed run), phase, tags, created, step and the config keys that tell the runs apart (or the
 * ones the user picked under "columns", kept in localStorage).
 * Search (`tag:x`, `status:failed`, `steps:400`, `-term`), sort by any column (click its
 * header). A click on a row shows that run; the checkbox, or a click with Ctrl/Cmd/Shift,
 * adds runs to compare. Emits `selection-change` with the new list of run ids. ✎ edits a run's
 * name, tags and notes in place; emits `labels-edit` (the app sends it to the server).
 */
@customElement('runs-table')
export class RunsTable extends LitElement {
  static override styles = [
    panelStyles,
    css`
      .scroll {
        max-height: 260px;
        overflow: auto;
      }
      table {
        border-collapse: collapse;
        width: 100%;
        font-variant-numeric: tabular-nums;
      }
      th {
        position: sticky;
        top: 0;
        background: ${cssColor('card')};
        text-align: left;
        font-weight: 600;
        font-size: 12px;
        color: ${cssColor('muted')};
        padding: 4px 8px;
        border-bottom: 1px solid ${cssColor('border')};
        white-space: nowrap;
        cursor: pointer;
        user-select: none;
      }
      th.config {
        color: ${cssColor('textSoft')};
        font-style: italic;
      }
      td {
        padding: 5px 8px;
        border-bottom: 1px solid ${cssColor('wash')};
        white-space: nowrap;
        max-width: 240px;
        overflow: hidden;
        text-overflow: ellipsis;
      }
      tr.run {
        cursor: pointer;
      }
      tr.run:hover {
        background: ${cssColor('wash')};
      }
      tr.run[aria-selected='true'] {
        background: ${cssColor('accentWash')};
      }
      tr.run:focus-visible {
        outline: 2px solid ${cssColor('accent')};
        outline-offset: -2px;
      }
      td.pick {
        border-left: 3px solid transparent;
      }
      .name {
        font-weight: 600;
      }
      .id,
      .notes {
        display: block;
        font-size: 11px;
        color: ${cssColor('muted')};
        font-weight: 400;
        overflow: hidden;
        text-overflow: ellipsis;
      }
      .status::before {
        content: '';
        display: inline-block;
        width: 7px;
        height: 7px;
        border-radius: 50%;
        margin-right: 4px;
        background: ${cssColor('faint')};
      }
      .status.running::before {
        background: ${cssColor('live')};
      }
      .status.failed::before {
        background: ${cssColor('failed')};
      }
      .status.interrupted::before,
      .status.stopped::before {
        background: ${cssColor('pending')};
      }
      .error {
        display: block;
        font-size: 11px;
        color: ${cssColor('errorInk')};
        overflow: hidden;
        text-overflow: ellipsis;
      }
      .phase {
        color: ${cssColor('card')};
        border-radius: 3px;
        padding: 0 6px;
        font-weight: 700;
        font-size: 11px;
      }
      .tag {
        display: inline-block;
        background: ${cssColor('wash')};
        border: 1px solid ${cssColor('border')};
        border-radius: 10px;
        padding: 0 7px;
        margin-right: 3px;
        font-size: 11px;
      }
      .bar {
        display: flex;
        gap: 10px;
        align-items: center;
        margin-bottom: 6px;
      }
      .bar input[type='search'] {
        flex: 1;
        max-width: 420px;
      }
      details.columns {
        position: relative;
        font-size: 12px;
        color: ${cssColor('textSoft')};
      }
      details.columns summary {
        cursor: pointer;
      }
      details.columns .pick-list {
        position: absolute;
        z-index: 2;
        top: 20px;
        left: 0;
        background: ${cssColor('card')};
        border: 1px solid ${cssColor('borderStrong')};
        border-radius: 6px;
        padding: 6px 10px;
        max-height: 240px;
        overflow: auto;
        min-width: 180px;
        box-shadow: 0 4px 12px ${cssColor('borderStrong')};
      }
      .pick-list label {
        display: block;
        white-space: nowrap;
      }
      button.edit {
        border: none;
        background: none;
        cursor: pointer;
        color: ${cssColor('muted')};
        padding: 0 4px;
      }
      tr.editor form {
        display: flex;
        gap: 8px;
        align-items: center;
        flex-wrap: wrap;
      }
      tr.editor input[type='text'] {
        font: inherit;
        border: 1px solid ${cssColor('borderStrong')};
        border-radius: 4px;
        padding: 2px 6px;
      }
      tr.editor .error {
        color: ${cssColor('errorInk')};
        white-space: normal;
      }
      .pick-list button {
        font: inherit;
        margin-bottom: 4px;
      }
    `,
  ];

  @property({ attribute: false }) runs: RunMeta[] = [];
  @property({ attribute: false }) selected: string[] = [];
  @state() private query = '';
  /** Newest first until a header is clicked. */
  @state() private sort: { key: string; dir: 1 | -1 } = { key: 'created', dir: -1 };
  /** The config columns the user picked, or null for the default ones. */
  @state() private picked: string[] | null = loadColumns();
  /** The run whose labels are being edited, and the server's answer to the last save. */
  @state() private editing: string | null = null;
  @state() private editError = '';
  @state() private saving = false;

  override render() {
    const rows = sortRuns(filterRuns(this.runs, this.query), this.sort.key, this.sort.dir);
    const offered = configKeys(this.runs);
    const configKeyList = this.picked
      ? this.picked.filter((k) => offered.includes(k))
      : configColumns(rows.length ? rows : this.runs, 6);
    this.dataset.columns = configKeyList.join(',');
    this.dataset.picked = String(this.picked !== null);
    this.dataset.shown = String(rows.length);
    this.dataset.order = rows.map((r) => r.runId).join(',');
    const arrow = (key: string) =>
      this.sort.key === key ? (this.sort.dir === 1 ? ' ▲' : ' ▼') : '';
    return html`<div class="panel">
      <h2>
        Runs
        <span class="aside"
          >${rows.length === this.runs.length ? '' : `${rows.length} of `}${this.runs.length}</span
        >
      </h2>
      <div class="bar">
        <input
          type="search"
          aria-label="search runs"
          placeholder="search runs: name, tag:x, status:failed, steps:400, -term"
          .value=${this.query}
          @input=${(ev: Event) => (this.query = (ev.target as HTMLInputElement).value)}
        />
        ${offered.length ? this.columnPicker(offered, configKeyList) : ''}
      </div>
      ${
        this.runs.length === 0
          ? html`<div class="empty">No runs yet</div>`
          : html`<div class="scroll">
              <table>
                <thead>
                  <tr>
                    <th title="compare"></th>
                    ${BUILT_IN.map(
                      (c) =>
                        html`<th data-key=${c.key} @click=${() => this.sortBy(c.key)}>
                          ${c.label}${arrow(c.key)}
                        </th>`,
                    )}
                    ${configKeyList.map(
                      (k) =>
                        html`<th
                          class="config"
                          data-key=${k}
                          title="config: ${k}"
                          @click=${() => this.sortBy(k)}
                        >
                          ${k}${arrow(k)}
                        </th>`,
                    )}
                  </tr>
                </thead>
                <tbody>
                  ${rows.map((r) =>
                    r.runId === this.editing
                      ? [
                          this.row(r, configKeyList),
                          this.editor(r, BUILT_IN.length + 1 + configKeyList.length),
                        ]
                      : this.row(r, configKeyList),
                  )}
                </tbody>
              </table>
            </div>`
      }
    </div>`;
  }

  private row(r: RunMeta, columns: string[]) {
    const at = this.selected.indexOf(r.runId);
    const title = runTitle(r);
    return html`<tr
      class="run"
      data-run=${r.runId}
      aria-selected=${at >= 0}
      tabindex="0"
      @click=${(ev: MouseEvent) => this.choose(r.runId, ev.ctrlKey || ev.metaKey || ev.shiftKey)}
      @keydown=${(ev: KeyboardEvent) => {
        if (ev.key !== 'Enter' && ev.key !== ' ') return;
        ev.preventDefault();
        this.choose(r.runId, ev.ctrlKey || ev.metaKey || ev.shiftKey);
      }}
    >
      <td class="pick" style=${at >= 0 ? `border-left-color:${runColor(at)}` : ''}>
        <input
          type="checkbox"
          title="compare"
          .checked=${at >= 0}
          @click=${(ev: Event) => {
            ev.stopPropagation();
            this.choose(r.runId, true);
          }}
        />
      </td>
      <td title=${[title, r.runId, r.notes].filter(Boolean).join('\n')}>
        <span class="name">${title}</span
        ><button
          class="edit"
          title="edit name, tags and notes"
          aria-label="edit labels of ${r.runId}"
          @keydown=${(ev: Event) => ev.stopPropagation()}
          @click=${(ev: Event) => {
            ev.stopPropagation();
            this.editing = this.editing === r.runId ? null : r.runId;
            this.editError = '';
          }}
        >
          ✎
        </button>
        ${title !== r.runId ? html`<span class="id">${r.runId}</span>` : ''}
        ${r.notes ? html`<span class="notes">${r.notes}</span>` : ''}
      </td>
      <td title=${r.error ?? ''}>
        <span class="status ${r.status}">${r.status}</span>
        ${r.error ? html`<span class="error">${r.error}</span>` : ''}
      </td>
      <td>
        ${
          r.phase
            ? html`<span class="phase" style="background:${PHASE_COLORS[r.phase]}"
                >${r.phase}</span
              >`
            : ''
        }
      </td>
      <td>${(r.tags ?? []).map((t) => html`<span class="tag">${t}</span>`)}</td>
      <td title=${r.createdAt}>${r.createdAt.slice(0, 16).replace('T', ' ')}</td>
      <td>${r.lastStep ?? ''}</td>
      <td>${r.backend}</td>
      ${columns.map((k) => html`<td>${formatValue(runField(r, k))}</td>`)}
    </tr>`;
  }

  private editor(r: RunMeta, columns: number) {
    const submit = (ev: Event) => {
      ev.preventDefault();
      const form = new FormData(ev.target as HTMLFormElement);
      const text = (k: string) => String(form.get(k) ?? '');
      // only what changed, as `phasewatch edit` takes it: absent fields are kept
      const patch: LabelsPatch = {};
      if (text('name') !== (r.name ?? '')) patch.name = text('name');
      if (text('notes') !== (r.notes ?? '')) patch.notes = text('notes');
      const tags = parseTags(text('tags'));
      if (tags.join() !== (r.tags ?? []).join()) patch.tags = tags;
      if (Object.keys(patch).length === 0) {
        this.editing = null;
        return;
      }
      this.saving = true;
      const detail: LabelsEdit = {
        runId: r.runId,
        patch,
        reply: (error) => {
          this.saving = false;
          this.editError = error ?? '';
          if (!error) this.editing = null;
        },
      };
      this.dispatchEvent(new CustomEvent('labels-edit', { detail, bubbles: true, composed: true }));
    };
    return html`<tr class="editor" data-run=${r.runId}>
      <td colspan=${columns}>
        <form @submit=${submit}>
          <label>name <input type="text" name="name" .value=${r.name ?? ''} /></label>
          <label
            >tags
            <input
              type="text"
              name="tags"
              placeholder="a, b, c"
              .value=${(r.tags ?? []).join(', ')}
          /></label>
          <label>notes <input type="text" name="notes" size="40" .value=${r.notes ?? ''} /></label>
          <button type="submit" ?disabled=${this.saving}>save</button>
          <button type="button" @click=${() => (this.editing = null)}>cancel</button>
          ${this.editError ? html`<span class="error" role="alert">${this.editError}</span>` : ''}
        </form>
      </td>
    </tr>`;
  }

  private columnPicker(offered: string[], shown: string[]) {
    const toggle = (key: string, on: boolean) => {
      const next = on ? [...shown, key] : shown.filter((k) => k !== key);
      this.picked = next;
      saveColumns(next);
    };
    return html`<details class="columns">
      <summary>columns</summary>
      <div class="pick-list">
        <button
          type="button"
          ?disabled=${this.picked === null}
          @click=${() => {
            this.picked = null;
            saveColumns(null);
          }}
        >
          default columns
        </button>
        ${offered.map(
          (k) =>
            html`<label
              ><input
                type="checkbox"
                data-key=${k}
                .checked=${shown.includes(k)}
                @change=${(ev: Event) => toggle(k, (ev.target as HTMLInputElement).checked)}
              />
              ${k}</label
            >`,
        )}
      </div>
    </details>`;
  }

  private sortBy(key: string): void {
    this.sort =
      this.sort.key === key
        ? { key, dir: this.sort.dir === 1 ? -1 : 1 }
        : { key, dir: key === 'created' || key === 'step' ? -1 : 1 };
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
    'runs-table': RunsTable;
  }
}
