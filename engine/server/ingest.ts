import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Observable } from 'rxjs';
import type { RunEvent } from '../../streams/events.js';
import { hostHeaderAllowed, originAllowed, tokenMatches } from './host-check.js';
import { decodePart, HttpError, readJson, replyBeforeBody } from './ingest-http.js';
import { createIngestRuns, type IngestOptions, type IngestRuns } from './ingest-runs.js';

export type { IngestOptions } from './ingest-runs.js';

export interface Ingest {
  /**
   * Serves `/api/...` requests and returns true; returns false for any other path so the
   * caller serves it.
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** Every event stored by an ingested run (the live server pushes them to dashboards). */
  readonly events$: Observable<RunEvent>;
  /** Runs open for ingest now. */
  readonly openRuns: string[];
  /** Ends every open run `stopped` (pending assessments are dropped). */
  close(): void;
}

interface Reply {
  status: number;
  body: unknown;
}

/** One endpoint: its path under `/api/` (`:runId` matches any one segment) and handler. */
interface Route {
  path: string[];
  methods: string[];
  handle(req: IncomingMessage, runId: string, query: URLSearchParams): Promise<Reply>;
}

/** The ingest API's endpoints; what each does is a function of `IngestRuns`. */
function ingestRoutes(runs: IngestRuns, maxJson: number): Route[] {
  return [
    {
      path: ['runs'],
      methods: ['POST'],
      handle: async (req) => ({ status: 201, body: runs.create(await readJson(req, maxJson)) }),
    },
    {
      path: ['runs', ':runId'],
      methods: ['GET', 'HEAD'],
      handle: (_req, runId) => Promise.resolve({ status: 200, body: runs.status(runId) }),
    },
    {
      path: ['runs', ':runId', 'labels'],
      methods: ['PATCH'],
      handle: async (req, runId) => ({
        status: 200,
        body: runs.labels(runId, await readJson(req, maxJson)),
      }),
    },
    {
      path: ['runs', ':runId', 'events'],
      methods: ['POST'],
      handle: async (req, runId) => {
        const run = runs.open(runId);
        return { status: 200, body: runs.append(run, await readJson(req, maxJson)) };
      },
    },
    {
      path: ['runs', ':runId', 'snapshots'],
      methods: ['POST'],
      handle: async (req, runId, query) => {
        const run = runs.open(runId);
        return { status: 202, body: await runs.upload(run, req, query) };
      },
    },
    {
      path: ['runs', ':runId', 'reopen'],
      methods: ['POST'],
      handle: async (req, runId) => ({
        status: 200,
        body: runs.reopen(runId, await readJson(req, maxJson, true)),
      }),
    },
    {
      path: ['runs', ':runId', 'finish'],
      methods: ['POST'],
      handle: async (req, runId) => {
        const run = runs.open(runId);
        return { status: 200, body: await runs.finish(run, await readJson(req, maxJson, true)) };
      },
    },
  ];
}

/**
 * The ingest API: a training loop that is not ours (PyTorch, JAX, a TypeScript loop) creates
 * a run, appends events of the generic kinds and uploads snapshots, which go through the same
 * run store (`record`) and phase assessment (`assessPhases`) as a phasewatch run and appear
 * live. Token and host rules are the server's; a browser page from another site is refused
 * (Origin, and content types a plain form cannot send). Every bad request gets a 4xx and one
 * line of text saying why.
 *
 * ```
 * POST /api/runs                       {name?, runId?, config?, tags?, notes?, backend?, assess?}  → 201 {runId}
 * POST /api/runs/<runId>/events        an event, an array of events, or {events: [...]}          → 200 {appended, duplicates, lastSeq, clientSeq}
 * POST /api/runs/<runId>/snapshots?step=N[&clientSeq=K]   .npy labels, images, activations back to back
 *                                      (application/x-npy), or raw float32 with
 *                                      x-phasewatch-shapes: labels=Nx2; images=NxSxS; activations=NxD → 202
 * POST /api/runs/<runId>/finish        {status?: completed|failed|stopped, error?}               → 200 {runId, status, phase}
 * POST /api/runs/<runId>/reopen        {assess?}: an interrupted run goes on                      → 200 {reopened, clientSeq, lastStep, ...}
 * GET  /api/runs/<runId>               meta.json of the run and the snapshots still being assessed
 * PATCH /api/runs/<runId>/labels       {name?, tags?, notes?} of any stored run, as `phasewatch edit` → 200 meta
 * ```
 *
 * A client numbers its events and snapshots (`clientSeq`, increasing): what it sends again
 * after a failure is stored once. After the server was killed, its runs are `interrupted` (a
 * 409 with `x-phasewatch-interrupted: 1`) until a client re-opens them.
 *
 * @example
 * const ingest = createIngest({ runsDir: 'runs', token });
 * createServer((req, res) => ingest.handle(req, res) || other(req, res));
 */
export function createIngest(opts: IngestOptions): Ingest {
  const maxJson = opts.maxJsonBytes ?? 8 << 20;
  const runs = createIngestRuns(opts);
  const routes = ingestRoutes(runs, maxJson);

  const handle = (req: IncomingMessage, res: ServerResponse): boolean => {
    const raw = req.url ?? '';
    const q = raw.indexOf('?');
    const pathname = q < 0 ? raw : raw.slice(0, q);
    if (pathname !== '/api' && !pathname.startsWith('/api/')) return false;
    const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
    route(req, pathname, query).then(
      ({ status, body }) => {
        if (!res.headersSent) {
          res
            .writeHead(status, {
              'content-type': 'application/json; charset=utf-8',
              'cache-control': 'no-store',
            })
            .end(JSON.stringify(body) + '\n');
        }
      },
      (err: unknown) => {
        const status = err instanceof HttpError ? err.status : 500;
        const message = err instanceof Error ? err.message : String(err);
        if (res.headersSent) return void res.destroy();
        const headers: Record<string, string> = {
          ...(err instanceof HttpError ? err.headers : {}),
          'content-type': 'text/plain; charset=utf-8',
        };
        const text = message.split('\n')[0] + '\n';
        // A body we stopped reading must not be taken for the next request.
        if (req.complete) res.writeHead(status, headers).end(text);
        else replyBeforeBody(req, res, status, headers, text);
      },
    );
    return true;
  };

  async function route(
    req: IncomingMessage,
    pathname: string,
    query: URLSearchParams,
  ): Promise<Reply> {
    if (!hostHeaderAllowed(req.headers.host, opts.token))
      throw new HttpError(403, 'forbidden host');
    if (!originAllowed(req.headers.origin, req.headers.host)) {
      throw new HttpError(403, `forbidden origin ${req.headers.origin}`);
    }
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!tokenMatches(opts.token, bearer ?? query.get('token'))) {
      throw new HttpError(
        401,
        'missing or wrong token: send authorization: Bearer <token> or ?token=',
      );
    }
    const parts = pathname.split('/').slice(2).map(decodePart);
    const method = req.method ?? 'GET';
    const match = routes.find(
      (r) =>
        r.path.length === parts.length &&
        r.path.every((p, i) => p.startsWith(':') || p === parts[i]),
    );
    if (!match) {
      throw new HttpError(
        404,
        `no endpoint ${pathname} (POST /api/runs, POST /api/runs/<runId>/events|snapshots|reopen|finish, PATCH /api/runs/<runId>/labels, GET /api/runs/<runId>)`,
      );
    }
    if (!match.methods.includes(method)) {
      throw new HttpError(
        405,
        `${method} ${pathname} is not allowed (use ${match.methods.join(' or ')})`,
      );
    }
    return match.handle(req, parts[1] ?? '', query);
  }

  return {
    handle,
    events$: runs.events$,
    get openRuns() {
      return runs.openRuns;
    },
    close: () => runs.close(),
  };
}
