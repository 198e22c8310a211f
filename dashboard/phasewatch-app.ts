import { LitElement, css, html, type PropertyValues } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import './embedding-view.js';
import type { ColorBy } from './embedding-view.js';
import { LiveController } from './live-controller.js';
import './loss-chart.js';
import './metric-chart.js';
import './phase-timeline.js';
import { defaultSelection, seriesOf } from './run-state.js';
import { textStyle } from './theme.js';
import './run-list.js';
import './sample-grid.js';
import type { StepRange } from './view-range.js';

/** The socket URL for the page we are on, carrying the page's token along. */
export function socketUrl(location: Location): string {
  const token = new URLSearchParams(location.search).get('token');
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/ws${token ? `?token=${encodeURIComponent(token)}` : ''}`;
}

const CONNECTION_TEXT = { connecting: 'connecting…', open: 'live', reconnecting: 'reconnecting…' };

/**
 * The dashboard: run list on the left, the selected runs' views on the right. UI state
 * (selection, step range, snapshot, colouring) lives here and in the views, never in the
 * socket, so it survives every update and reconnect.
 */
@customElement('phasewatch-app')
export class PhasewatchApp extends LitElement {
  static override styles = css`
    :host {
      display: block;
      min-height: 100vh;
      background: #f3f4f6;
      ${textStyle}
    }
    header {
      display: flex;
      align-items: center;
      gap: 14px;
      padding: 10px 18px;
      background: #111827;
      color: #f9fafb;
    }
    header h1 {
      margin: 0;
      font-size: 16px;
      letter-spacing: 0.02em;
    }
    header .sub {
      color: #9ca3af;
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
      background: #f59e0b;
    }
    .conn.open::before {
      background: #22c55e;
    }
    main {
      display: grid;
      grid-template-columns: 270px minmax(0, 1fr);
      gap: 12px;
      padding: 12px;
    }
    .views {
      display: grid;
      grid-template-columns: minmax(0, 1fr) minmax(0, 1fr);
      gap: 12px;
      align-content: start;
    }
    .wide {
      grid-column: 1 / 3;
    }
    .error {
      grid-column: 1 / 3;
      background: #fef2f2;
      color: #991b1b;
      border: 1px solid #fecaca;
      border-radius: 6px;
      padding: 6px 10px;
    }
    @media (max-width: 1100px) {
      main,
      .views {
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
  /** True once the user chose runs; until then the newest run is followed automatically. */
  private userSelected = false;
  @state() private range: StepRange = null;
  @state() private snapshot: number | null = null;
  @state() private colorBy: ColorBy = 'x';

  override willUpdate(_changed: PropertyValues): void {
    const { runs } = this.live.state;
    if (!this.userSelected) {
      const auto = defaultSelection(runs);
      if (auto.join() !== this.selected.join()) this.selected = auto;
    }
    this.live.follow(this.selected);
  }

  override render() {
    const st = this.live.state;
    const series = this.selected.map((id) => seriesOf(st, id));
    const primary = series[0];
    const shown = primary
      ? primary.assessments[Math.min(primary.assessments.length - 1, this.snapshot ?? Infinity)]
      : undefined;
    this.dataset.connection = this.live.connection;
    this.dataset.duplicates = String(st.duplicates);
    this.dataset.reconnects = String(this.live.reconnects);
    return html`<header>
        <h1>phasewatch</h1>
        <span class="sub">learning phases of diffusion models</span>
        <span class="conn ${this.live.connection}">${CONNECTION_TEXT[this.live.connection]}</span>
      </header>
      <main>
        <run-list
          .runs=${this.withProgress()}
          .selected=${this.selected}
          @selection-change=${(e: CustomEvent<string[]>) => this.select(e.detail)}
        ></run-list>
        <section class="views">
          ${st.lastError ? html`<div class="error">server: ${st.lastError}</div>` : ''}
          <phase-timeline
            class="wide"
            .series=${series}
            .range=${this.range}
            revision=${st.revision}
          ></phase-timeline>
          <loss-chart
            .series=${series}
            .range=${this.range}
            revision=${st.revision}
            @range-change=${this.onRange}
          ></loss-chart>
          <metric-chart
            .series=${series}
            .range=${this.range}
            revision=${st.revision}
            @range-change=${this.onRange}
          ></metric-chart>
          <embedding-view
            .assessments=${primary?.assessments ?? []}
            .index=${this.snapshot}
            colorBy=${this.colorBy}
            revision=${st.revision}
            @snapshot-change=${(e: CustomEvent<number | null>) => (this.snapshot = e.detail)}
            @color-change=${(e: CustomEvent<ColorBy>) => (this.colorBy = e.detail)}
          ></embedding-view>
          <sample-grid .assessment=${shown}></sample-grid>
        </section>
      </main>`;
  }

  // The catalogue is re-sent only on start, end and phase changes; the step count of a
  // followed run is fresher in its series.
  private withProgress() {
    const { runs, series } = this.live.state;
    return runs.map((r) => {
      const s = series.get(r.runId);
      return s && s.lastStep > (r.lastStep ?? -1) ? { ...r, lastStep: s.lastStep } : r;
    });
  }

  private onRange = (e: CustomEvent<StepRange>) => {
    this.range = e.detail;
  };

  private select(ids: string[]): void {
    this.userSelected = true;
    if (ids[0] !== this.selected[0]) this.snapshot = null;
    this.selected = ids;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'phasewatch-app': PhasewatchApp;
  }
}
