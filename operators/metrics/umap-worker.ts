import { parentPort } from 'node:worker_threads';
import { umapEmbed, type UmapEmbedOptions } from './umap-embed.js';

/** One embedding asked of the UMAP worker (see umap-off-thread.ts). */
export interface UmapJob {
  id: number;
  data: Float32Array;
  dim: number;
  opts: UmapEmbedOptions;
}

/** Its answer: the embedding, or the error's message. */
export type UmapReply = { id: number; y: Float32Array } | { id: number; error: string };

parentPort?.on('message', (job: UmapJob) => {
  let reply: UmapReply;
  try {
    reply = { id: job.id, y: umapEmbed(job.data, job.dim, job.opts) };
  } catch (err) {
    reply = { id: job.id, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort?.postMessage(reply);
});
