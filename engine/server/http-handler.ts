import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { bundleFile, dashboardDir } from './bundle.js';
import { hostHeaderAllowed, tokenMatches } from './host-check.js';

const CSP = [
  "default-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "style-src 'self' 'unsafe-inline'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

const files: Record<string, { path: string; type: string; token: boolean }> = {
  '/': { path: join(dashboardDir, 'index.html'), type: 'text/html; charset=utf-8', token: true },
  '/app.js': { path: bundleFile, type: 'text/javascript; charset=utf-8', token: false },
};

/** The parts of a request target the server looks at. */
export interface RequestTarget {
  pathname: string;
  query: URLSearchParams;
  /** `host[:port]` of an absolute-form target (`GET http://host/ HTTP/1.1`), else undefined. */
  authority?: string;
}

/**
 * Splits a request target into path and query without ever throwing: `//`, `%`, `/%zz`, `*`,
 * absolute-form `http://x/` and any other string the HTTP parser lets through. Null for a
 * target the server does not serve (`*`, authority-form, unparsable absolute-form).
 *
 * @example requestTarget('//?token=a')?.pathname; // '//'
 */
export function requestTarget(raw: string | undefined): RequestTarget | null {
  if (typeof raw !== 'string' || raw.length === 0) return null;
  if (raw.startsWith('/')) {
    const q = raw.indexOf('?');
    const hash = raw.indexOf('#');
    const end = hash < 0 ? raw.length : hash;
    return {
      pathname: q < 0 || q > end ? raw.slice(0, end) : raw.slice(0, q),
      query: new URLSearchParams(q < 0 || q > end ? '' : raw.slice(q + 1, end)),
    };
  }
  if (!/^https?:\/\//i.test(raw)) return null;
  try {
    const url = new URL(raw);
    return { pathname: url.pathname, query: url.searchParams, authority: url.host };
  } catch {
    return null;
  }
}

/** True when the Host header (and an absolute-form target's authority) may be served. */
export function hostsAllowed(
  target: RequestTarget,
  hostHeader: string | undefined,
  token: string | undefined,
): boolean {
  if (!hostHeaderAllowed(hostHeader, token)) return false;
  return target.authority === undefined || hostHeaderAllowed(target.authority, token);
}

/**
 * Serves the dashboard page (token-checked: it is the door to the runs) and its bundle
 * (public code, no data). Everything else is a 404. Nothing a client sends can throw out of
 * it: an unexpected failure answers 400 (or drops the connection once a reply has begun).
 */
export function httpHandler(
  token: string | undefined,
  api?: (req: IncomingMessage, res: ServerResponse) => boolean,
) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const reply = (status: number, text: string) => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(text + '\n');
    };
    try {
      // The ingest API (`ingest.ts`) answers its own paths, with its own checks.
      if (api?.(req, res)) return;
      serve(req, res, token, reply);
    } catch {
      if (!res.headersSent) reply(400, 'bad request');
      else res.destroy();
    }
  };
}

function serve(
  req: IncomingMessage,
  res: ServerResponse,
  token: string | undefined,
  reply: (status: number, text: string) => void,
): void {
  const target = requestTarget(req.url);
  if (!target) return reply(400, 'bad request target');
  const file = files[target.pathname === '/index.html' ? '/' : target.pathname];
  if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'method not allowed');
  if (target.pathname === '/favicon.ico') return void res.writeHead(204).end();
  if (!file) return reply(404, 'not found');
  if (!hostsAllowed(target, req.headers.host, token)) return reply(403, 'forbidden host');
  if (file.token && !tokenMatches(token, target.query.get('token'))) {
    return reply(401, 'missing or wrong token: open the URL that phasewatch printed');
  }
  readFile(file.path).then(
    (body) => {
      if (res.destroyed) return;
      res.writeHead(200, {
        'content-type': file.type,
        'cache-control': 'no-store',
        'content-security-policy': CSP,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    },
    () => {
      if (!res.headersSent && !res.destroyed) reply(500, 'cannot read a dashboard file');
    },
  );
}
