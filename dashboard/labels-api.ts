import type { RunMeta } from '../streams/events.js';

/** What may be changed of a run's labels; absent fields are kept. */
export type LabelsPatch = Partial<Pick<RunMeta, 'name' | 'tags' | 'notes'>>;

/**
 * Asks the live server to change a run's labels (`PATCH /api/runs/<runId>/labels`, the page's
 * token as the bearer): it writes `labels.json` as `phasewatch edit` does and sends every
 * dashboard the new catalogue. Rejects with the server's one-line reason.
 *
 * @example await patchLabels(window.location, 'r1', { tags: ['baseline'] });
 */
export async function patchLabels(
  location: Pick<Location, 'search'>,
  runId: string,
  patch: LabelsPatch,
): Promise<void> {
  const token = new URLSearchParams(location.search).get('token');
  const res = await fetch(`/api/runs/${encodeURIComponent(runId)}/labels`, {
    method: 'PATCH',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(patch),
  });
  if (!res.ok) {
    const text = (await res.text()).split('\n')[0];
    throw new Error(text || `the server answered ${res.status}`);
  }
}

/** Tags as a person types them (`a, b c`): split at commas, trimmed, empty ones dropped. */
export function parseTags(text: string): string[] {
  return text
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
}
