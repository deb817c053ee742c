import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { NotFoundError } from '../core/errors';
import { Queue } from '../queue';
import { isPostgresUrl, openStore, resolveStoreLocation, type OpenStoreOptions } from '../store/open-store';

/** What a command needs from its surroundings: where the store is, opened on first use. */
export class CliContext {
  /** `--db`, else `QUEUECTL_DB`, else the default path. */
  readonly location: string;
  private queue: Queue | null = null;

  constructor(dbOption: string | undefined, env: NodeJS.ProcessEnv = process.env) {
    this.location = resolveStoreLocation(dbOption, env);
  }

  /**
   * Opens the store (once). Commands validate their input before calling this, so bad input never touches it.
   * Only commands that write pass `create`: a read on a mistyped path must not leave a directory and an empty queue.
   */
  async open(options: OpenStoreOptions & { create?: boolean } = {}): Promise<Queue> {
    if (this.queue === null && options.create !== true && !isPostgresUrl(this.location) && this.location.trim() !== '') {
      const path = resolve(this.location);
      if (!existsSync(path)) throw new NotFoundError(`no queue at ${path}; 'queuectl init' or 'queuectl enqueue' creates one`);
    }
    this.queue ??= new Queue(await openStore(this.location, { ...options, create: options.create === true }));
    return this.queue;
  }

  async close(): Promise<void> {
    await this.queue?.close();
    this.queue = null;
  }
}
