import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Clock } from '../core/clock';
import { StoreUnavailableError } from '../core/errors';
import { explainNativeModuleError } from './native-module-error';
import type { Store } from './store';

export interface OpenStoreOptions {
  /** `full` for commands people run (an acknowledged write survives a power cut); `normal` for workers. */
  durability?: 'full' | 'normal';
  clock?: Clock;
  /** PostgreSQL only: the schema holding queuectl's tables (default `$QUEUECTL_SCHEMA`, else `queuectl`). */
  schema?: string;
  /**
   * PostgreSQL only: pooled connections (default 4). Worker processes pass 1: all their statements share one
   * connection, so with its LISTEN connection a worker holds 2 whatever its concurrency.
   */
  poolSize?: number;
}

/** Environment variables, typed without Node's own types so the published `.d.ts` needs no `@types/node`. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** `$XDG_DATA_HOME/queuectl/queue.db`, else `~/.local/share/queuectl/queue.db`. */
export function defaultDatabasePath(env: Environment = process.env): string {
  const dataHome = env.XDG_DATA_HOME && env.XDG_DATA_HOME !== '' ? env.XDG_DATA_HOME : join(homedir(), '.local', 'share');
  return join(dataHome, 'queuectl', 'queue.db');
}

/**
 * Where the store is, decided in this one place for the CLI and the library: the location given (`--db`, or
 * `openQueue`'s argument), else `QUEUECTL_DB` (or `QUEUECTL_DB_PATH`) when set and not empty, else the default SQLite file.
 */
export function resolveStoreLocation(given: string | undefined, env: Environment = process.env): string {
  // QUEUECTL_DB_PATH: the name other queue tools taught people; QUEUECTL_DB wins when both are set.
  return given ?? (env.QUEUECTL_DB || env.QUEUECTL_DB_PATH || defaultDatabasePath(env));
}

export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/**
 * Opens the store a location names: a `postgres://` URL selects PostgreSQL, anything else is a SQLite file path.
 * Adapters load lazily, so the SQLite path never pays for `pg` and vice versa.
 */
export async function openStore(location: string, options: OpenStoreOptions = {}): Promise<Store> {
  if (isPostgresUrl(location)) {
    const { PostgresStore } = await import('./postgres/postgres-store');
    return PostgresStore.open(location, options);
  }
  if (location.trim() === '') throw new StoreUnavailableError('the database path is empty; pass --db PATH or set QUEUECTL_DB');
  const { SqliteStore } = await import('./sqlite/sqlite-store');
  try {
    return SqliteStore.open(resolve(location), options);
  } catch (err) {
    throw explainNativeModuleError(err);
  }
}
