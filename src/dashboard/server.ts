import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { UsageError } from '../core/errors';
import type { Queue } from '../queue';
import { handleApi, RouteNotFound } from './api';
import { crossSiteRefusal, CSRF_HEADER, hostAllowed, requestToken, SECURITY_HEADERS, TOKEN_COOKIE, tokenMatches } from './security';

/*
 * The dashboard's HTTP server, on node:http: the page and its assets (static files beside this module, read once),
 * the JSON API under /api/, and /metrics. The store is opened on first use and again after a failure, so a dashboard
 * started while the store is down, or one whose store went away, serves a banner and recovers on its own.
 */

export interface DashboardOptions {
  host: string;
  port: number;
  token: string | null;
  /** Opens the queue (the caller closes it); called again when opening failed, e.g. while the store was down. */
  openQueue: () => Promise<Queue>;
}

const ASSETS_DIR = join(__dirname, 'assets');
const ASSETS: Record<string, string> = { '/': 'index.html', '/assets/app.js': 'app.js', '/assets/style.css': 'style.css', '/favicon.svg': 'favicon.svg' };
const CONTENT_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', svg: 'image/svg+xml',
};
const MAX_BODY_BYTES = 256 * 1024;
const STATUS_OF_ERROR: Record<string, number> = {
  UsageError: 400, NotFoundError: 404, ConflictError: 409, QueueError: 400,
  StoreUnavailableError: 503, StoreFullError: 503, StoreCorruptError: 503,
};

export class Dashboard {
  private queue: Promise<Queue> | null = null;
  private readonly assets = new Map<string, Buffer>();
  readonly server: Server;

  constructor(private readonly options: DashboardOptions) {
    this.server = createServer((req, res) => void this.handle(req, res));
    // A slow client never holds a socket for long; the page polls with short requests.
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 30_000;
  }

  async listen(): Promise<{ url: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => resolve());
    });
    const { port } = this.server.address() as AddressInfo;
    const host = this.options.host.includes(':') ? `[${this.options.host}]` : this.options.host;
    return { url: `http://${host}:${port}/`, port };
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    // The queue stays open: whoever gave openQueue owns it.
  }

  private async withQueue<T>(fn: (queue: Queue) => Promise<T>): Promise<T> {
    const opening = (this.queue ??= this.options.openQueue());
    opening.catch(() => {
      if (this.queue === opening) this.queue = null;
    });
    return fn(await opening);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    try {
      const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
      if (!hostAllowed(req, this.options.token !== null)) return sendJson(res, 421, { error: 'this dashboard answers only on a loopback address' });
      if (this.options.token !== null && !this.authorized(req, res, url)) return;
      const method = req.method ?? 'GET';
      if (url.pathname.startsWith('/api/')) return await this.api(req, res, url, method);
      if (url.pathname === '/metrics' && method === 'GET') {
        const text = await this.withQueue((queue) => queue.metrics());
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
        return void res.end(text);
      }
      // The page's own paths (#/jobs/…) live after the hash; only the files above are served.
      const asset = ASSETS[url.pathname];
      if (asset && (method === 'GET' || method === 'HEAD')) return this.sendAsset(res, asset);
      sendJson(res, 404, { error: `no such page: ${url.pathname.slice(0, 100)}` });
    } catch (err) {
      this.sendError(res, err);
    }
  }

  /** A token is set: the request carries it, or opens `/?token=T` once, which sets the cookie and drops it from the URL. */
  private authorized(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
    const token = this.options.token!;
    if (tokenMatches(requestToken(req), token)) return true;
    if (url.pathname === '/' && tokenMatches(url.searchParams.get('token'), token)) {
      res.writeHead(303, {
        location: '/',
        'set-cookie': `${TOKEN_COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict`,
      });
      res.end();
      return false;
    }
    sendJson(res, 401, { error: 'this dashboard needs its token: open /?token=T once, or send Authorization: Bearer T' });
    return false;
  }

  private async api(req: IncomingMessage, res: ServerResponse, url: URL, method: string): Promise<void> {
    if (method !== 'GET' && method !== 'POST') return sendJson(res, 405, { error: `${method} is not allowed; use GET to read and POST to change` });
    let body: Record<string, unknown> | undefined;
    if (method === 'POST') {
      const refusal = crossSiteRefusal(req);
      if (refusal) return sendJson(res, 403, { error: refusal });
      body = await readJsonBody(req);
    }
    let segments: string[];
    try {
      segments = url.pathname.slice('/api/'.length).split('/').filter((s) => s !== '').map(decodeURIComponent);
    } catch {
      return sendJson(res, 400, { error: 'malformed path' });
    }
    try {
      const result = await this.withQueue((queue) => handleApi(queue, { method, segments, query: url.searchParams, body }));
      sendJson(res, 200, result);
    } catch (err) {
      if (err instanceof RouteNotFound) return sendJson(res, 404, { error: `no API route ${method} ${url.pathname.slice(0, 100)}` });
      throw err;
    }
  }

  private sendAsset(res: ServerResponse, name: string): void {
    let content = this.assets.get(name);
    if (!content) {
      content = readFileSync(join(ASSETS_DIR, name));
      this.assets.set(name, content);
    }
    res.writeHead(200, { 'content-type': CONTENT_TYPES[name.split('.').pop()!] ?? 'application/octet-stream' });
    res.end(content);
  }

  private sendError(res: ServerResponse, err: unknown): void {
    if (res.headersSent) return void res.destroy();
    // By class name: the bundled CLI hands this module (loaded from dist/dashboard/) its own copy of core/errors.
    const status = STATUS_OF_ERROR[(err as Error)?.constructor?.name ?? ''];
    if (status !== undefined) return sendJson(res, status, { error: (err as Error).message, store_unavailable: status === 503 });
    // A system error the store's layer did not classify (a refused connection while opening) is the store's; the rest
    // is ours.
    const message = (err as Error)?.message ?? String(err);
    if (typeof (err as { code?: unknown })?.code === 'string') return sendJson(res, 503, { error: `the store is unavailable: ${message}`, store_unavailable: true });
    sendJson(res, 500, { error: `internal error: ${message}` });
  }
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(value));
}

async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new UsageError(`the request body is over ${MAX_BODY_BYTES / 1024} KiB`);
    parts.push(chunk);
  }
  const text = Buffer.concat(parts).toString('utf8');
  let value: unknown;
  try {
    value = text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    throw new UsageError('the request body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UsageError('the request body must be a JSON object');
  return value as Record<string, unknown>;
}

export { CSRF_HEADER };
