/**
 * The live wire protocol between the engine's server and the dashboard: JSON text frames,
 * every message versioned `{ v: 2, … }` (`PROTOCOL_VERSION`, the same number as the event
 * format `EVENTS_VERSION`). The server reads client messages of v1 and v2 (they are the same
 * two messages) and writes v2. The dashboard imports its types from here; the events
 * themselves are the run store's `RunEvent` union, unchanged.
 *
 * Client → server
 * - `subscribe { runId?, sinceSeq? }`: follow one run (or, without `runId`, every run). With
 *   `sinceSeq`, every stored event with a higher `seq` is replayed from disk first, then live
 *   events follow with no gap and no duplicate; a `replayed` message marks the seam. Without
 *   `sinceSeq`, live events only. Subscribing again to a run replaces the old subscription.
 * - `unsubscribe { runId? }`: stop following a run (without `runId`: stop following everything).
 *
 * Server → client
 * - `runs`: the catalogue, sent on connect and again whenever a run starts, ends, changes phase
 *   or is found `interrupted` (its writer died). A client that is behind gets only the newest.
 *   `summaries` come with it: per run its status, phase steps and metrics' last values.
 * - `event` / `events`: one event, or a batch. Live events are batched per ~16 ms frame; within
 *   a run they always arrive in increasing `seq`.
 * - `replayed`: the replay for `runId` is complete up to `lastSeq`. Replays are read from disk
 *   as fast as the client reads them, one run at a time per client; a newer `subscribe` with
 *   `sinceSeq` for the same run replaces a replay still going.
 * - `gap`: the server dropped `dropped` step and metric events of `runId` (seq
 *   `fromSeq`..`toSeq`) because this client fell too far behind; assessments, snapshots and the
 *   other named kinds (curve, matrix, embedding, images) of a client that is behind are coalesced
 *   to the newest per run and name without a `gap` message. Phase, alert, run-start and run-end
 *   events are never dropped.
 * - `error`: a malformed, oversized (over `MAX_CLIENT_MESSAGE_BYTES`) or unknown message, or an
 *   unreadable line met during a replay (skipped, named by its line number); the connection
 *   stays open. A frame over `MAX_CLIENT_FRAME_BYTES` is not read at all: the connection is
 *   closed with code 1009 (message too big).
 */
import {
  EVENTS_VERSION,
  type Phase,
  type RunEvent,
  type RunMeta,
  type RunStatus,
} from './events.js';

/** Version written in every server message; equal to the event format version. */
export const PROTOCOL_VERSION = EVENTS_VERSION;
/** Client message versions the server reads. */
export const CLIENT_VERSIONS: readonly number[] = [1, PROTOCOL_VERSION];

type V = typeof PROTOCOL_VERSION;

/** Largest client message the server reads; larger ones get an `error` reply. */
export const MAX_CLIENT_MESSAGE_BYTES = 4096;

/** Largest client frame the server accepts at all; larger ones close the socket with 1009. */
export const MAX_CLIENT_FRAME_BYTES = 64 * 1024;

export interface SubscribeMessage {
  v: 1 | V;
  type: 'subscribe';
  runId?: string;
  sinceSeq?: number;
}

export interface UnsubscribeMessage {
  v: 1 | V;
  type: 'unsubscribe';
  runId?: string;
}

export type ClientMessage = SubscribeMessage | UnsubscribeMessage;

export interface RunsMessage {
  v: V;
  type: 'runs';
  runs: RunMeta[];
  /** What each run came to, for the runs table and the sweep panel (absent from older servers). */
  summaries?: RunSummary[];
}

/** A metric's last, lowest and highest finite value. */
export interface MetricSummary {
  last: number;
  min: number;
  max: number;
}

/**
 * One run boiled down, so a sweep is drawn without replaying its runs: its status, the step at
 * which each phase was first confirmed, its last step and each metric's last, lowest and
 * highest value. `lastSeq` is the last event folded in.
 */
export interface RunSummary {
  runId: string;
  status: RunStatus;
  lastSeq: number;
  lastStep: number;
  phases: Partial<Record<Phase, number>>;
  metrics: Record<string, MetricSummary>;
}

export interface EventMessage {
  v: V;
  type: 'event';
  event: RunEvent;
}

export interface EventsMessage {
  v: V;
  type: 'events';
  events: RunEvent[];
}

export interface ReplayedMessage {
  v: V;
  type: 'replayed';
  runId: string;
  lastSeq: number;
}

export interface GapMessage {
  v: V;
  type: 'gap';
  runId: string;
  dropped: number;
  fromSeq: number;
  toSeq: number;
}

export interface ErrorMessage {
  v: V;
  type: 'error';
  message: string;
}

export type ServerMessage =
  RunsMessage | EventMessage | EventsMessage | ReplayedMessage | GapMessage | ErrorMessage;

/**
 * Run ids are path segments of the runs dir: letters, digits, `.`, `_`, `-`, at most 200, not
 * starting with `.` or `-` — nothing that could climb out of it (`..`), hide in it (`.x`) or be
 * taken for an option by a shell command (`-rf`).
 */
export const RUN_ID_PATTERN = /^\w[\w.-]{0,199}$/;

/** True for a string that may name a run directory (see `RUN_ID_PATTERN`). */
export function isValidRunId(runId: unknown): runId is string {
  return typeof runId === 'string' && RUN_ID_PATTERN.test(runId);
}

/** What a bad run id gets, in one line. */
export function runIdError(field: string, value: unknown): string {
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 60)) : String(value);
  return `${field} must be 1-200 letters, digits, '.', '_' or '-', not starting with '.' or '-' (got ${shown})`;
}

/**
 * Parses and validates one client frame; a string result is the one-line error to send back.
 *
 * @example
 * const msg = parseClientMessage('{"v":1,"type":"subscribe","runId":"r1","sinceSeq":0}');
 * if (typeof msg === 'string') reply(msg);
 */
export function parseClientMessage(text: string): ClientMessage | string {
  const bytes = text.length > MAX_CLIENT_MESSAGE_BYTES / 3 ? utf8Length(text) : text.length;
  if (bytes > MAX_CLIENT_MESSAGE_BYTES) {
    return `message too large (${bytes} bytes; at most ${MAX_CLIENT_MESSAGE_BYTES})`;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return 'message is not valid JSON';
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return 'message must be a JSON object';
  }
  const m = raw as Record<string, unknown>;
  if (typeof m.v !== 'number' || !CLIENT_VERSIONS.includes(m.v)) {
    const got =
      typeof m.v === 'number'
        ? String(m.v)
        : typeof m.v === 'string'
          ? JSON.stringify(m.v.slice(0, 20))
          : typeof m.v;
    return `unsupported protocol version ${got} (expected ${CLIENT_VERSIONS.join(' or ')})`;
  }
  const v = m.v as 1 | V;
  if (m.type !== 'subscribe' && m.type !== 'unsubscribe') {
    const got = typeof m.type === 'string' ? JSON.stringify(m.type.slice(0, 40)) : typeof m.type;
    return `unknown message type ${got} (expected "subscribe" or "unsubscribe")`;
  }
  if (m.runId !== undefined && !isValidRunId(m.runId)) {
    return runIdError('runId', typeof m.runId === 'string' ? m.runId : typeof m.runId);
  }
  const runId = m.runId;
  if (m.type === 'unsubscribe') return { v, type: 'unsubscribe', runId };
  if (
    m.sinceSeq !== undefined &&
    (typeof m.sinceSeq !== 'number' || !Number.isInteger(m.sinceSeq) || m.sinceSeq < 0)
  ) {
    const got = typeof m.sinceSeq === 'number' ? String(m.sinceSeq) : typeof m.sinceSeq;
    return `sinceSeq must be an integer >= 0 (got ${got})`;
  }
  return { v, type: 'subscribe', runId, sinceSeq: m.sinceSeq };
}

/** Bytes of `text` in UTF-8 (a lone surrogate counts 3, as the encoder writes U+FFFD). */
function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}
