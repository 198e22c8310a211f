import type { RunEvent } from '../../streams/events.js';
import type { ServerMessage } from '../protocol.js';

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

/** `{v:1,type:'event'}` for one event, `{v:1,type:'events'}` for a batch. */
export function encodeEvents(events: readonly RunEvent[]): string {
  if (events.length === 1) return `{"v":1,"type":"event","event":${eventJson(events[0])}}`;
  return `{"v":1,"type":"events","events":[${events.map(eventJson).join(',')}]}`;
}

export function encode(message: ServerMessage): string {
  return JSON.stringify(message);
}
