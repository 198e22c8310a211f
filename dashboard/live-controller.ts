import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { PROTOCOL_VERSION, type ClientMessage } from '../streams/protocol.js';
import { applyMessage, createState, parseServerMessage, type DashboardState } from './run-state.js';

export type ConnectionState = 'connecting' | 'open' | 'reconnecting';

/**
 * Owns the dashboard's socket: connects when the host element is attached, closes when it
 * is detached, reconnects with backoff after a drop and resumes each followed run from the
 * last `seq` it holds, so nothing is missed and nothing arrives twice. The state it feeds
 * lives here, not in the socket, so it survives reconnects.
 */
export class LiveController implements ReactiveController {
  readonly state: DashboardState = createState();
  connection: ConnectionState = 'connecting';
  reconnects = 0;
  private ws: WebSocket | null = null;
  private readonly followed = new Set<string>();
  private retry: ReturnType<typeof setTimeout> | null = null;
  private attempt = 0;
  private active = false;
  private frame: number | null = null;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly url: string,
  ) {
    host.addController(this);
  }

  hostConnected(): void {
    this.active = true;
    this.connect();
  }

  hostDisconnected(): void {
    this.active = false;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    if (this.frame !== null) cancelAnimationFrame(this.frame);
    this.frame = null;
    this.ws?.close();
    this.ws = null;
  }

  /** Follows exactly these runs: new ones are subscribed from what is held, others dropped. */
  follow(runIds: readonly string[]): void {
    const wanted = new Set(runIds);
    for (const id of this.followed) {
      if (!wanted.has(id)) {
        this.followed.delete(id);
        this.send({ v: PROTOCOL_VERSION, type: 'unsubscribe', runId: id });
      }
    }
    for (const id of wanted) {
      if (!this.followed.has(id)) {
        this.followed.add(id);
        this.subscribe(id);
      }
    }
  }

  private subscribe(runId: string): void {
    const sinceSeq = this.state.series.get(runId)?.lastSeq ?? 0;
    this.send({ v: PROTOCOL_VERSION, type: 'subscribe', runId, sinceSeq });
  }

  private send(msg: ClientMessage): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  /**
   * At most one render per animation frame, however many messages came in: when drawing is
   * slower than the stream, each frame shows everything received so far instead of falling
   * further behind one message at a time.
   */
  private scheduleUpdate(): void {
    if (this.frame !== null) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = null;
      this.host.requestUpdate();
    });
  }

  private connect(): void {
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this.connection = 'open';
      for (const id of this.followed) this.subscribe(id);
      this.host.requestUpdate();
    };
    ws.onmessage = (ev: MessageEvent) => {
      const msg = typeof ev.data === 'string' ? parseServerMessage(ev.data) : null;
      if (msg && applyMessage(this.state, msg)) this.scheduleUpdate();
    };
    ws.onclose = () => {
      if (this.ws !== ws || !this.active) return;
      this.ws = null;
      this.connection = 'reconnecting';
      this.host.requestUpdate();
      const delay = Math.min(3000, 200 * 2 ** this.attempt++);
      this.retry = setTimeout(() => {
        this.retry = null;
        this.reconnects++;
        if (this.active) this.connect();
      }, delay);
    };
  }
}
