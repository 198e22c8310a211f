import type { RunEvent } from '../../streams/events.js';
import { PROTOCOL_VERSION, type ServerMessage } from '../../streams/protocol.js';

const V = PROTOCOL_VERSION;

// One event goes to every client that follows its run: serialise it once.
const cache = new WeakMap<RunEvent, string>();

function eventJson(event: RunEvent): string {
  let json = cache.get(event);
  if (json === undefined) {
    json = JSON.stringify(event);
    cache.set(event, json);
  }
  return json;
}

/** `{v:2,type:'event'}` for one event, `{v:2,type:'events'}` for a batch. */
export function encodeEvents(events: readonly RunEvent[]): string {
  if (events.length === 1) return `{"v":${V},"type":"event","event":${eventJson(events[0])}}`;
  return `{"v":${V},"type":"events","events":[${events.map(eventJson).join(',')}]}`;
}

export function encode(message: ServerMessage): string {
  return JSON.stringify(message);
}

const ids = new WeakMap<RunEvent, number>();
let nextId = 0;

/** Encoded batches of one frame: clients that follow the same runs share one buffer. */
export type FrameCache = Map<string, Buffer>;

/**
 * `encodeEvents` as UTF-8 bytes, encoded once per distinct batch within a frame (most clients
 * follow the same runs and get the same batch).
 */
export function encodeBatch(events: readonly RunEvent[], cache: FrameCache): Buffer {
  let key = '';
  for (const e of events) {
    let id = ids.get(e);
    if (id === undefined) ids.set(e, (id = nextId++));
    key += `${id},`;
  }
  let bytes = cache.get(key);
  if (bytes === undefined) {
    bytes = Buffer.from(encodeEvents(events));
    cache.set(key, bytes);
  }
  return bytes;
}
