import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/*
 * The dashboard's request rules. Safe by default: it binds a loopback address; any other address needs a token, and
 * with a token every request must carry it (a Bearer header, or the cookie set by opening `/?token=T` once). A
 * state-changing request must be a POST that a cross-site page cannot forge: JSON body, our own header (which a
 * cross-origin page cannot send without a preflight we never answer), and a same-origin Origin / Sec-Fetch-Site.
 */

export const TOKEN_COOKIE = 'queuectl_dashboard_token';
export const CSRF_HEADER = 'x-queuectl';

export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return bare === '::1';
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}

/** The token the request carries, from `Authorization: Bearer …` or the dashboard's cookie. */
export function requestToken(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice('Bearer '.length).trim();
  return cookie(req, TOKEN_COOKIE);
}

export function tokenMatches(given: string | undefined | null, token: string): boolean {
  return typeof given === 'string' && sameText(given, token);
}

/**
 * Without a token the server answers only requests addressed to a loopback name: a page on another site that points
 * its own host name at 127.0.0.1 (DNS rebinding) is refused.
 */
export function hostAllowed(req: IncomingMessage, tokenSet: boolean): boolean {
  if (tokenSet) return true;
  const host = req.headers.host;
  if (!host) return false;
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0]!;
  return isLoopbackHost(name);
}

/** Why a state-changing request is refused, or null when it may proceed. */
export function crossSiteRefusal(req: IncomingMessage): string | null {
  if (req.headers[CSRF_HEADER] !== '1') return `state-changing requests need the header '${CSRF_HEADER}: 1'`;
  if (!(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json')) return 'state-changing requests need a JSON body';
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return 'cross-site request refused';
  const origin = req.headers.origin;
  if (origin !== undefined) {
    let originHost: string;
    try {
      originHost = new URL(origin).host;
    } catch {
      return 'cross-site request refused';
    }
    if (originHost !== req.headers.host) return 'cross-site request refused';
  }
  return null;
}

/** Headers on every response: nothing runs but our own script, nothing frames the page, nothing is sniffed. */
export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};
