import { LitElement, css, html, type PropertyValues } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import { hasAlerts } from './alert-banner.js';
import './config-diff.js';
import './embedding-view.js';
import { LiveController } from './live-controller.js';
import './loss-chart.js';
import './metric-panels.js';
import './phase-panel.js';
import './phase-timeline.js';
import {
  atStep,
  defaultSelection,
  namesAcross,
  seriesOf,
  seriesTitle,
  type RunSeries,
} from './run-state.js';
import { patchLabels } from './labels-api.js';
import './runs-table.js';
import type { LabelsEdit } from './runs-table.js';
import './sample-grid.js';
import { sweepIdOf, sweepsOf } from './sweep-model.js';
import './sweep-view.js';
import { cssColor, runColor, textStyle } from './theme.js';
import type { RunMeta } from '../streams/events.js';
import type { StepRange } from './view-range.js';

/** The socket URL for the page we are on, carrying the page's token along. */
export function socketUrl(location: Location): string {
  const token = new URLSearchParams(location.search).get('token');
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/ws${token ? `?token=${encodeURIComponent(token)}` : ''}`;
}

const CONNECTION_TEXT = { connecting: 'connecting…', open: 'live', reconnecting: 'reconnecting…' };

/**
 * A sweep of more runs than this is drawn from the server's run summaries alone: its runs are
 * not replayed (their curves show once runs are opened from the table); a smaller one is
 * followed run by run, its curves live.
 */
export const SWEEP_REPLAY_MAX = 8;

/** Runs whose embeddings and samples stand side by side. */
const SIDE_BY_SIDE = 2;

/** The chosen name if a run holds it, else the first name there is. */
function pickName(chosen: string, names: string[]): string {
  return names.includes(chosen) ? chosen : (names[0] ?? '');
}

/**
 * The dashboard: the runs table on top, the selected runs' views below. UI state (selection,
 * step range, snapshot step, colouring, filter, smoothing) lives here and in the views, never
 * in the socket, so it survives every update and reconnect.
 */
@customElement('phasewatch-app')
export class PhasewatchApp extends LitElement {
  static override styles = css`
    :host {
      display: block;
      min-height: 100vh;
      background: ${cssColor('wash')};
      ${textStyle}
    }
    header {
      display: flex;
      align-items: center;
      gap: 14px;
      padding: 10px 18px;
      background: ${cssColor('inkStrong')};
      color: ${cssColor('onDark')};
    }
    header h1 {
      margin: 0;
      font-size: 16px;
      letter-spacing: 0.02em;
    }
    header .sub {
      color: ${cssColor('faint')};
    }
    .conn {
      margin-left: auto;
      display: flex;
      align-items: center;
      gap: 6px;
      font-size: 12px;
    }
    .conn::before {
      content: '';
      width: 8px;
      height: 8px;
      border-radius: 50%;
      background: ${cssColor('pending')};
    }
    .conn.open::before {
      background: ${cssColor('live')};
    }
    main {
      display: grid;
      grid-template-columns: minmax(0, 1fr) minmax(0, 1fr);
      gap: 12px;
      padding: 12px;
      align-content: start;
    }
    .wide {
      grid-column: 1 / 3;
    }
    .error {
      grid-column: 1 / 3;
      background: ${cssColor('errorWash')};
      color: ${cssColor('errorInk')};
      border: 1px solid ${cssColor('errorBorder')};
      border-radius: 6px;
      padding: 6px 10px;
    }
    @media (max-width: 1100px) {
      main {
        grid-template-columns: minmax(0, 1fr);
      }
      .wide,
      .error {
        grid-column: auto;
      }
    }
  `;

  private readonly live = new LiveController(this, socketUrl(window.location));
  @state() private selected: string[] = [];
  /**
   * True once the user chose runs; until then the newest run is followed automatically (the
   * whole sweep, when that run belongs to one).
   */
  private userSelected = false;
  /** The sweep the user picked: its runs are the selection, new ones joining as they start. */
  @state() private sweep: string | null = null;
  @state() private range: StepRange = null;
  /** The snapshot step the embeddings and samples show, or null for the newest. */
  @state() private snapshotStep: number | null = null;
  @state() private colourBy = 'x';
  @state() private embeddingName = '';
  @state() private imagesName = '';
  @state() private query = '';
  @state() private smoothing = 0;

  override willUpdate(_changed: PropertyValues): void {
    const { runs } = this.live.state;
    let want: string[] | null = null;
    if (this.sweep !== null) {
      want = sweepsOf(runs).find((s) => s.id === this.sweep)?.runIds ?? [];
    } else if (!this.userSelected) {
      want = defaultSelection(runs);
      const newest = runs.find((r) => r.runId === want?.[0]);
      const sweep = newest && sweepIdOf(newest);
      if (sweep !== undefined) want = sweepsOf(runs).find((s) => s.id === sweep)?.runIds ?? want;
    }
    if (want && want.join() !== this.selected.join()) this.selected = want;
    const summarised = this.showsSweep() && this.selected.length > SWEEP_REPLAY_MAX;
    this.live.follow(summarised ? [] : this.selected);
  }

  override render() {
    const st = this.live.state;
    const series = this.selected.map((id) => seriesOf(st, id));
    const selectedMetas = this.selected.map((id) => st.runs.find((r) => r.runId === id));
    const metas = selectedMetas.filter((r) => r !== undefined);
    const sweeps = sweepsOf(st.runs);
    this.dataset.connection = this.live.connection;
    this.dataset.duplicates = String(st.duplicates);
    this.dataset.reconnects = String(this.live.reconnects);
    return html`<header>
        <h1>phasewatch</h1>
        <span class="sub">learning phases of diffusion models</span>
        <span class="conn ${this.live.connection}">${CONNECTION_TEXT[this.live.connection]}</span>
      </header>
      <main>
        ${st.lastError ? html`<div class="error">server: ${st.lastError}</div>` : ''}
        ${
          series.some(hasAlerts)
            ? html`<alert-banner
                class="wide"
                .series=${series}
                revision=${st.revision}
              ></alert-banner>`
            : ''
        }
        <runs-table
          class="wide"
          .runs=${this.withProgress()}
          .selected=${this.selected}
          @selection-change=${(e: CustomEvent<string[]>) => this.select(e.detail)}
          @labels-edit=${(e: CustomEvent<LabelsEdit>) => this.editLabels(e.detail)}
        ></runs-table>
        ${metas.length > 1 ? html`<config-diff class="wide" .runs=${metas}></config-diff>` : ''}
        ${
          sweeps.length > 0 || series.length > 1
            ? html`<sweep-view
                class="wide"
                .metas=${selectedMetas}
                .series=${series}
                .summaries=${this.selected.map((id) => st.summaries.get(id))}
                .sweeps=${sweeps}
                .sweep=${this.sweep}
                ?ask=${!this.isSweep(metas.length === this.selected.length ? metas : [])}
                .range=${this.range}
                .smoothing=${this.smoothing}
                revision=${st.revision}
                @sweep-change=${(e: CustomEvent<string | null>) => this.pickSweep(e.detail)}
                @range-change=${this.onRange}
              ></sweep-view>`
            : ''
        }
        ${
          series[0]?.assessments.length
            ? html`<phase-panel
                class="wide"
                .series=${series[0]}
                .range=${this.range}
                ?titled=${series.length > 1}
                revision=${st.revision}
                @range-change=${this.onRange}
              ></phase-panel>`
            : ''
        }
        <phase-timeline
          class="wide"
          .series=${series}
          .range=${this.range}
          revision=${st.revision}
        ></phase-timeline>
        <loss-chart
          class="wide"
          .series=${series}
          .range=${this.range}
          .smoothing=${this.smoothing}
          revision=${st.revision}
          @range-change=${this.onRange}
        ></loss-chart>
        <metric-panels
          class="wide"
          .series=${series}
          .range=${this.range}
          .query=${this.query}
          .smoothing=${this.smoothing}
          revision=${st.revision}
          @range-change=${this.onRange}
          @query-change=${(e: CustomEvent<string>) => (this.query = e.detail)}
          @smoothing-change=${(e: CustomEvent<number>) => (this.smoothing = e.detail)}
        ></metric-panels>
        ${this.snapshotViews(series, st.revision)}
      </main>`;
  }

  /**
   * Embedding and samples: one run's side by side, or, when two runs are selected, the
   * embeddings of both side by side and then the samples of both.
   */
  private snapshotViews(series: RunSeries[], revision: number) {
    const shown = series.slice(0, SIDE_BY_SIDE);
    const compare = shown.length > 1;
    const embeddingNames = namesAcross(shown, (s) => s.embeddings);
    const imagesNames = namesAcross(shown, (s) => s.images);
    const embeddingName = pickName(this.embeddingName, embeddingNames);
    const imagesName = pickName(this.imagesName, imagesNames);
    const snaps = shown.map((s) =>
      atStep(s.embeddings.get(embeddingName) ?? [], this.snapshotStep),
    );
    const embeddings = (shown.length ? shown : [undefined]).map(
      (s, i) =>
        html`<embedding-view
          data-run=${s?.runId ?? ''}
          .snaps=${s?.embeddings.get(embeddingName) ?? []}
          .names=${embeddingNames}
          .name=${embeddingName}
          .step=${this.snapshotStep}
          .colourBy=${this.colourBy}
          .peers=${snaps}
          .heading=${compare && s ? seriesTitle(s) : ''}
          .headingColour=${runColor(i)}
          revision=${revision}
          @snapshot-change=${(e: CustomEvent<number | null>) => (this.snapshotStep = e.detail)}
          @colour-change=${(e: CustomEvent<string>) => (this.colourBy = e.detail)}
          @embedding-change=${(e: CustomEvent<string>) => (this.embeddingName = e.detail)}
        ></embedding-view>`,
    );
    const grids = (shown.length ? shown : [undefined]).map(
      (s, i) =>
        html`<sample-grid
          data-run=${s?.runId ?? ''}
          .snap=${s ? atStep(s.images.get(imagesName) ?? [], this.snapshotStep) : undefined}
          .names=${imagesNames}
          .name=${imagesName}
          .heading=${compare && s ? seriesTitle(s) : ''}
          .headingColour=${runColor(i)}
          @images-change=${(e: CustomEvent<string>) => (this.imagesName = e.detail)}
        ></sample-grid>`,
    );
    return compare ? [...embeddings, ...grids] : [embeddings[0], grids[0]];
  }

  // The catalogue is re-sent only on start, end and phase changes; the step count of a
  // followed run is fresher in its series, that of another in its summary.
  private withProgress() {
    const { runs, series, summaries } = this.live.state;
    return runs.map((r) => {
      const last = Math.max(
        series.get(r.runId)?.lastStep ?? -1,
        summaries.get(r.runId)?.lastStep ?? -1,
      );
      return last > (r.lastStep ?? -1) ? { ...r, lastStep: last } : r;
    });
  }

  /** The selection is a whole sweep: picked, or followed on opening. */
  private showsSweep(): boolean {
    if (this.sweep !== null) return true;
    const metas = this.selected.map((id) => this.live.state.runs.find((r) => r.runId === id));
    return metas.every((m) => m !== undefined) && this.isSweep(metas as RunMeta[]);
  }

  private onRange = (e: CustomEvent<StepRange>) => {
    this.range = e.detail;
  };

  /** The selection is a sweep: one picked from the selector, or runs all tagged with one. */
  private isSweep(metas: readonly RunMeta[]): boolean {
    if (this.sweep !== null) return true;
    const ids = new Set(metas.map((m) => sweepIdOf(m)));
    return metas.length > 1 && ids.size === 1 && !ids.has(undefined);
  }

  /** Sends a label edit to the server; the table hears back, the catalogue brings the change. */
  private editLabels({ runId, patch, reply }: LabelsEdit): void {
    patchLabels(window.location, runId, patch).then(
      () => reply(),
      (err: unknown) => reply(err instanceof Error ? err.message : String(err)),
    );
  }

  private pickSweep(id: string | null): void {
    this.userSelected = true;
    this.sweep = id;
    this.snapshotStep = null;
  }

  private select(ids: string[]): void {
    this.userSelected = true;
    this.sweep = null;
    if (ids[0] !== this.selected[0]) this.snapshotStep = null;
    this.selected = ids;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'phasewatch-app': PhasewatchApp;
  }
}
