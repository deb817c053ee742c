import { Client, type ClientConfig } from 'pg';

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5_000;

/**
 * One dedicated connection doing `LISTEN` on the store's channel (pooled connections cannot listen: the pool hands
 * them out and takes them back), calling `onWake` for each notification. When the connection drops it
 * reconnects with backoff (100 ms doubling to 5 s) and then calls `onWake` once, since a notification may have gone
 * out while it was away.
 */
export class WakeListener {
  private client: Client | null = null;
  private timer: NodeJS.Timeout | null = null;
  private retryMs = FIRST_RETRY_MS;
  private closed = false;

  constructor(
    private readonly config: ClientConfig,
    private readonly channel: string,
    private readonly onWake: () => void,
  ) {}

  /** Connects and listens; when that fails it keeps retrying in the background (workers still poll meanwhile). */
  async start(): Promise<void> {
    await this.attach(false);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const client = this.client;
    this.client = null;
    if (client) await client.end().catch(() => undefined);
  }

  private async attach(reconnected: boolean): Promise<void> {
    if (this.closed) return;
    const client = new Client(this.config);
    this.client = client;
    client.on('error', () => this.drop(client));
    client.on('end', () => this.drop(client));
    client.on('notification', (message) => {
      if (message.channel === this.channel && !this.closed) this.onWake();
    });
    try {
      await client.connect();
      // The channel is derived from a validated schema name; quoting keeps its case.
      await client.query(`LISTEN "${this.channel}"`);
    } catch {
      this.drop(client);
      return;
    }
    if (this.client !== client) return;
    this.retryMs = FIRST_RETRY_MS;
    if (reconnected && !this.closed) this.onWake();
  }

  /** Forgets a broken connection and schedules the next attempt; later events of the same client are ignored. */
  private drop(client: Client): void {
    if (this.client !== client) return;
    this.client = null;
    client.end().catch(() => undefined);
    if (this.closed) return;
    const delay = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.attach(true);
    }, delay);
    this.timer.unref();
  }
}
