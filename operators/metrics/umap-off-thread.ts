import type { Worker } from 'node:worker_threads';
import { moduleWorker } from './module-worker.js';
import { umapEmbedAsync, type UmapEmbedOptions } from './umap-embed.js';
import type { UmapJob, UmapReply } from './umap-worker.js';

/**
 * `umapEmbed` on a worker thread, so the UMAP of a snapshot runs beside training instead of
 * taking turns with it on the main thread (training keeps the other core busy only part of the
 * time). One worker serves the process; it does not keep the process alive when idle. Same
 * output as `umapEmbed` for the same input and seed. When no worker can start (or one dies),
 * the embedding runs on this thread with `umapEmbedAsync` instead.
 *
 * In the repository the worker loads TypeScript through tsx (a dependency), as the CLI does.
 *
 * @example const y = await umapEmbedOffThread(activations, 256, { seed: 1 });
 */
export async function umapEmbedOffThread(
  data: Float32Array,
  dim: number,
  opts: UmapEmbedOptions = {},
): Promise<Float32Array> {
  const w = worker === undefined ? start() : worker;
  if (!w) return umapEmbedAsync(data, dim, opts);
  return new Promise<Float32Array>((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject, data, dim, opts });
    w.ref();
    const job: UmapJob = { id, data, dim, opts };
    w.postMessage(job);
  });
}

/** Whether embeddings run on the worker thread (false before the first, or after a failure). */
export function umapWorkerRunning(): boolean {
  return Boolean(worker);
}

interface Pending {
  resolve: (y: Float32Array) => void;
  reject: (err: Error) => void;
  data: Float32Array;
  dim: number;
  opts: UmapEmbedOptions;
}

let worker: Worker | null | undefined;
let nextId = 0;
const pending = new Map<number, Pending>();

function start(): Worker | null {
  try {
    // The worker's body is umap-worker.ts (or .js once built).
    const w = moduleWorker('./umap-worker', import.meta.url);
    w.on('message', (reply: UmapReply) => {
      const job = pending.get(reply.id);
      if (!job) return;
      pending.delete(reply.id);
      if (pending.size === 0) w.unref();
      if ('error' in reply) job.reject(new Error(reply.error));
      else job.resolve(reply.y);
    });
    const fail = (): void => {
      // Whatever was asked of it runs here instead; later embeddings too.
      worker = null;
      const jobs = [...pending.values()];
      pending.clear();
      for (const j of jobs) umapEmbedAsync(j.data, j.dim, j.opts).then(j.resolve, j.reject);
    };
    w.on('error', fail);
    w.on('exit', fail);
    w.unref();
    worker = w;
  } catch {
    worker = null;
  }
  return worker;
}
