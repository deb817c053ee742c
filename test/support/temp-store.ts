import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../../src/core/clock';
import type { Store } from '../../src/store/store';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store';

/** A fresh temp directory, removed by the returned cleanup. */
export function tempDir(prefix = 'queuectl-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface TempStore {
  store: Store;
  /** What `--db` / QUEUECTL_DB should be set to for CLI processes sharing this store. */
  location: string;
  /** Extra environment for child processes (e.g. QUEUECTL_SCHEMA). */
  env: Record<string, string>;
  cleanup: () => Promise<void>;
}

export async function tempSqliteStore(options: { clock?: Clock } = {}): Promise<TempStore> {
  const { dir, cleanup } = tempDir();
  const location = join(dir, 'queue.db');
  const store = SqliteStore.open(location, { clock: options.clock });
  return {
    store,
    location,
    env: {},
    cleanup: async () => {
      await store.close();
      cleanup();
    },
  };
}
