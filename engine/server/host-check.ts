import { timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1 and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '::ffff:127.0.0.1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/** The token in force: the option, else `PHASEWATCH_TOKEN`; an empty string counts as none. */
export function resolveToken(token: string | undefined): string | undefined {
  const t = token ?? process.env.PHASEWATCH_TOKEN;
  return t ? t : undefined;
}

/** Compares in constant time so the token cannot be guessed byte by byte from timings. */
export function tokenMatches(expected: string | undefined, given: string | null): boolean {
  if (expected === undefined) return true;
  if (given === null) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * A browser page from another site must not read runs through the socket (DNS rebinding,
 * cross-site WebSocket): when the browser says where the page came from, it must be us.
 */
export function originAllowed(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

/**
 * Without a token, only requests addressed to a loopback name are served: a page on another
 * site whose name is made to resolve to 127.0.0.1 (DNS rebinding) sends its own name.
 */
export function hostHeaderAllowed(
  hostHeader: string | undefined,
  token: string | undefined,
): boolean {
  if (token !== undefined) return true;
  if (hostHeader === undefined) return false;
  try {
    return isLoopbackHost(new URL(`http://${hostHeader}`).hostname);
  } catch {
    return false;
  }
}

/** The host as it goes into a URL: IPv6 literals in brackets. */
export function urlHost(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}
