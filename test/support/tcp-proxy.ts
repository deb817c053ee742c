import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * What the proxy does with traffic: `forward` passes it both ways; `black-hole` stops passing it (and holds new
 * connections without connecting onward) while every socket stays open, as a dead route or a hung server does.
 */
export type ProxyMode = 'forward' | 'black-hole';

/** One client connection and its upstream one, and what was held back while black-holed. */
interface Pair {
  client: Socket;
  upstream: Socket | null;
}

/**
 * A TCP proxy on a free loopback port to `target`, for putting faults between a worker and its database: it can
 * swallow traffic without closing anything (`blackHole()`), and reset every connection (`resetAll()`). Bounded: at
 * most `maxConnections` at once (more are refused), and `close()` ends every socket and the listener.
 */
export class TcpProxy {
  private mode: ProxyMode = 'forward';
  private readonly pairs = new Set<Pair>();
  /** Connections accepted so far, and resets done: figures for the report. */
  accepted = 0;
  resets = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly target: { host: string; port: number },
    private readonly maxConnections: number,
  ) {
    server.on('connection', (client) => this.accept(client));
  }

  /** Listens on 127.0.0.1 at a free port, forwarding to `target`. */
  static start(target: { host: string; port: number }, options: { maxConnections?: number } = {}): Promise<TcpProxy> {
    const server = createServer({ pauseOnConnect: true });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        if (typeof address !== 'object' || address === null) return reject(new Error('the proxy has no port'));
        resolve(new TcpProxy(server, address.port, target, options.maxConnections ?? 64));
      });
    });
  }

  /** Connections open now. */
  get open(): number {
    return this.pairs.size;
  }

  /** Passes traffic again; connections held while black-holed connect onward now. */
  forward(): void {
    this.mode = 'forward';
    for (const pair of this.pairs) {
      if (pair.upstream === null) this.connectUpstream(pair);
      else {
        pair.client.resume();
        pair.upstream.resume();
      }
    }
  }

  /** Stops passing traffic in both directions; nothing is closed, so each side just waits. */
  blackHole(): void {
    this.mode = 'black-hole';
    for (const pair of this.pairs) {
      pair.client.pause();
      pair.upstream?.pause();
    }
  }

  /** Resets every open connection (both sides see ECONNRESET); new ones are accepted as the mode says. */
  resetAll(): void {
    for (const pair of [...this.pairs]) this.drop(pair, true);
    this.resets++;
  }

  /** Resets every connection and stops listening. */
  close(): Promise<void> {
    for (const pair of [...this.pairs]) this.drop(pair, true);
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    this.accepted++;
    if (this.pairs.size >= this.maxConnections) {
      client.resetAndDestroy();
      return;
    }
    const pair: Pair = { client, upstream: null };
    this.pairs.add(pair);
    client.on('error', () => this.drop(pair, true));
    client.on('close', () => this.drop(pair, false));
    if (this.mode === 'forward') this.connectUpstream(pair);
  }

  private connectUpstream(pair: Pair): void {
    const upstream = connect(this.target.port, this.target.host);
    pair.upstream = upstream;
    upstream.on('error', () => this.drop(pair, true));
    upstream.on('close', () => this.drop(pair, false));
    // pipe() ends the other side on end and honours pause(): black-holing pauses both reads.
    pair.client.pipe(upstream);
    upstream.pipe(pair.client);
    pair.client.resume();
  }

  /** Ends both sides of a pair once: with a reset (RST) when asked, else a normal close. */
  private drop(pair: Pair, reset: boolean): void {
    if (!this.pairs.delete(pair)) return;
    for (const socket of [pair.client, pair.upstream]) {
      if (socket === null || socket.destroyed) continue;
      if (reset) socket.resetAndDestroy();
      else socket.destroy();
    }
  }
}
