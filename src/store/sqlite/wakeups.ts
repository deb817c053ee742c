import { closeSync, openSync, utimesSync, watch, type FSWatcher } from 'node:fs';

/**
 * Wake-ups: a file beside the database whose timestamp a notifier touches; subscribers see it through inotify.
 * Without the file workers still find work through their fallback poll.
 */
export class WakeFile {
  constructor(readonly path: string) {}

  /** Creates the file if it is missing; a failure only leaves workers to their poll. */
  ensure(): void {
    try {
      closeSync(openSync(this.path, 'a', 0o600));
    } catch {
      // Without a wake file workers still find work through their fallback poll.
    }
  }

  notify(): void {
    const now = new Date();
    try {
      utimesSync(this.path, now, now);
    } catch {
      try {
        closeSync(openSync(this.path, 'a', 0o600));
      } catch {
        // Workers fall back to polling; a lost wake-up only delays a pickup.
      }
    }
  }

  subscribe(onWake: () => void): () => Promise<void> {
    let watcher: FSWatcher | null = null;
    try {
      watcher = watch(this.path, { persistent: false }, () => onWake());
      watcher.on('error', () => watcher?.close());
    } catch {
      watcher = null;
    }
    return async () => watcher?.close();
  }
}
