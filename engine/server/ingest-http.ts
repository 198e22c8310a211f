import type { IncomingMessage } from 'node:http';

/** A request the ingest API refuses: its status and one line saying why. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Headers of the reply (e.g. `retry-after` of a 429). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** One path segment, percent-decoded; bad encoding is a 400. */
export function decodePart(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new HttpError(
      400,
      `path segment ${JSON.stringify(s.slice(0, 60))} is not valid percent-encoding`,
    );
  }
}

/** Reads a request body up to `limit` bytes; a longer one is a 413 (told early by content-length). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(
      new HttpError(413, `body of ${declared} bytes is over the limit of ${limit}`),
    );
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.pause();
        reject(new HttpError(413, `body is over the limit of ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('close', () => {
      if (!req.complete) reject(new HttpError(400, 'the body was cut off'));
    });
    req.once('error', (err) => reject(new HttpError(400, `cannot read the body: ${err.message}`)));
  });
}

/** Reads a JSON body (content-type application/json); an empty body is undefined when allowed. */
export async function readJson(
  req: IncomingMessage,
  limit: number,
  emptyOk = false,
): Promise<unknown> {
  const body = await readBody(req, limit);
  if (body.length === 0 && emptyOk) return undefined;
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/json') {
    throw new HttpError(415, `content-type must be application/json (got ${JSON.stringify(type)})`);
  }
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch (err) {
    throw new HttpError(400, `body is not valid JSON: ${(err as Error).message.split('\n')[0]}`);
  }
}
