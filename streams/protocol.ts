/**
 * The live wire protocol between the engine's server and the dashboard: JSON text frames,
 * every message versioned `{ v: 1, … }`. The dashboard imports its types from here; the
 * events themselves are the run store's `RunEvent` union, unchanged.
 *
 * Client → server
 * - `subscribe { runId?, sinceSeq? }`: follow one run (or, without `runId`, every run). With
 *   `sinceSeq`, every stored event with a higher `seq` is replayed from disk first, then live
 *   events follow with no gap and no duplicate; a `replayed` message marks the seam. Without
 *   `sinceSeq`, live events only. Subscribing again to a run replaces the old subscription.
 * - `unsubscribe { runId? }`: stop following a run (without `runId`: stop following everything).
 *
 * Server → client
 * - `runs`: the catalogue, sent on connect and again whenever a run starts, ends or changes phase.
 * - `event` / `events`: one event, or a batch. Live events are batched per ~16 ms frame; within
 *   a run they always arrive in increasing `seq`.
 * - `replayed`: the replay for `runId` is complete up to `lastSeq`.
 * - `gap`: the server dropped `dropped` step events of `runId` (seq `fromSeq`..`toSeq`) because
 *   this client fell too far behind; assessments and snapshots of a client that is behind are
 *   coalesced to the newest per run without a `gap` message. Phase, run-start and run-end
 *   events are never dropped.
 * - `error`: a malformed, oversized or unknown message; the connection stays open.
 */
import type { RunEvent, RunMeta } from './events.js';

export const PROTOCOL_VERSION = 1;

/** Largest client message the server reads; larger ones get an `error` reply. */
export const MAX_CLIENT_MESSAGE_BYTES = 4096;

export interface SubscribeMessage {
  v: 1;
  type: 'subscribe';
  runId?: string;
  sinceSeq?: number;
}

export interface UnsubscribeMessage {
  v: 1;
  type: 'unsubscribe';
  runId?: string;
}

export type ClientMessage = SubscribeMessage | UnsubscribeMessage;

export interface RunsMessage {
  v: 1;
  type: 'runs';
  runs: RunMeta[];
}

export interface EventMessage {
  v: 1;
  type: 'event';
  event: RunEvent;
}

export interface EventsMessage {
  v: 1;
  type: 'events';
  events: RunEvent[];
}

export interface ReplayedMessage {
  v: 1;
  type: 'replayed';
  runId: string;
  lastSeq: number;
}

export interface GapMessage {
  v: 1;
  type: 'gap';
  runId: string;
  dropped: number;
  fromSeq: number;
  toSeq: number;
}

export interface ErrorMessage {
  v: 1;
  type: 'error';
  message: string;
}

export type ServerMessage =
  RunsMessage | EventMessage | EventsMessage | ReplayedMessage | GapMessage | ErrorMessage;

/** Run ids are path segments of the runs dir: nothing that could climb out of it. */
export const RUN_ID_PATTERN = /^[\w.-]{1,200}$/;

/**
 * Parses and validates one client frame; a string result is the one-line error to send back.
 *
 * @example
 * const msg = parseClientMessage('{"v":1,"type":"subscribe","runId":"r1","sinceSeq":0}');
 * if (typeof msg === 'string') reply(msg);
 */
export function parseClientMessage(text: string): ClientMessage | string {
  if (text.length > MAX_CLIENT_MESSAGE_BYTES) {
    return `message too large (${text.length} bytes; at most ${MAX_CLIENT_MESSAGE_BYTES})`;
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
  if (m.v !== PROTOCOL_VERSION) return `unsupported protocol version ${String(m.v)} (expected 1)`;
  if (m.type !== 'subscribe' && m.type !== 'unsubscribe') {
    return `unknown message type ${JSON.stringify(m.type)} (expected "subscribe" or "unsubscribe")`;
  }
  if (m.runId !== undefined && (typeof m.runId !== 'string' || !RUN_ID_PATTERN.test(m.runId))) {
    return 'runId must be a string of letters, digits, ".", "_" or "-"';
  }
  const runId = m.runId as string | undefined;
  if (m.type === 'unsubscribe') return { v: 1, type: 'unsubscribe', runId };
  if (
    m.sinceSeq !== undefined &&
    (typeof m.sinceSeq !== 'number' || !Number.isInteger(m.sinceSeq) || m.sinceSeq < 0)
  ) {
    return 'sinceSeq must be an integer >= 0';
  }
  return { v: 1, type: 'subscribe', runId, sinceSeq: m.sinceSeq as number | undefined };
}
