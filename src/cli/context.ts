import { Queue } from '../queue';
import { openStore, resolveStoreLocation, type OpenStoreOptions } from '../store/open-store';

/** What a command needs from its surroundings: where the store is, opened on first use. */
export class CliContext {
  /** `--db`, else `QUEUECTL_DB`, else the default path. */
  readonly location: string;
  private queue: Queue | null = null;

  constructor(dbOption: string | undefined, env: NodeJS.ProcessEnv = process.env) {
    this.location = resolveStoreLocation(dbOption, env);
  }

  /** Opens the store (once). Commands validate their input before calling this, so bad input never touches it. */
  async open(options: OpenStoreOptions = {}): Promise<Queue> {
    this.queue ??= new Queue(await openStore(this.location, options));
    return this.queue;
  }

  async close(): Promise<void> {
    await this.queue?.close();
    this.queue = null;
  }
}
