import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
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
const require = createRequire(import.meta.url);
let nextId = 0;
const pending = new Map<number, Pending>();

// The worker's body is umap-worker.ts (or .js once built). An eval'd bootstrap loads it, first
// registering tsx's loader when it is TypeScript (workers do not inherit the main thread's).
const BOOT = `
const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsx) (await import(workerData.tsx)).register();
  await import(workerData.url);
})();
`;

/** The file URL of tsx's ESM API (its package's `./esm/api` import entry). */
function tsxEsmApi(): string {
  const pkgPath = require.resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as {
    exports: Record<string, { import: { default: string } }>;
  };
  return pathToFileURL(path.join(path.dirname(pkgPath), pkg.exports['./esm/api'].import.default))
    .href;
}

function start(): Worker | null {
  try {
    const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
    const url = new URL(`./umap-worker${ext}`, import.meta.url).href;
    const tsx = ext === '.ts' ? tsxEsmApi() : null;
    const w = new Worker(BOOT, { eval: true, workerData: { url, tsx } });
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
