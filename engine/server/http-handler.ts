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

/**
 * Serves the dashboard page (token-checked: it is the door to the runs) and its bundle
 * (public code, no data). Everything else is a 404.
 */
export function httpHandler(
  token: string | undefined,
  api?: (req: IncomingMessage, res: ServerResponse) => boolean,
) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    // The ingest API (`ingest.ts`) answers its own paths, with its own checks.
    if (api?.(req, res)) return;
    const url = new URL(req.url ?? '/', 'http://x');
    const file = files[url.pathname === '/index.html' ? '/' : url.pathname];
    const reply = (status: number, text: string) => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(text + '\n');
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'method not allowed');
    if (url.pathname === '/favicon.ico') return void res.writeHead(204).end();
    if (!file) return reply(404, 'not found');
    if (!hostHeaderAllowed(req.headers.host, token)) return reply(403, 'forbidden host');
    if (file.token && !tokenMatches(token, url.searchParams.get('token'))) {
      return reply(401, 'missing or wrong token: open the URL that phasewatch printed');
    }
    readFile(file.path).then(
      (body) => {
        res.writeHead(200, {
          'content-type': file.type,
          'cache-control': 'no-store',
          'content-security-policy': CSP,
          'x-content-type-options': 'nosniff',
          'referrer-policy': 'no-referrer',
        });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      () => reply(500, `cannot read ${file.path}`),
    );
  };
}
