import Database from 'better-sqlite3';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { StoreUnavailableError } from '../../core/errors';
import { isDiskFull, translateSqliteError } from './file-checks';

/**
 * How the SQLite store opens its file and runs statements: a cache of prepared statements, write transactions, and
 * the one busy loop that waits out another process's lock.
 */

/**
 * better-sqlite3's compiled addon, named outright: left to itself better-sqlite3 finds it with the `bindings` package,
 * which searches from the calling file and so fails inside the bundled CLI (scripts/bundle-cli.mjs). Undefined (the
 * search) when the addon is not at the path a source build leaves.
 */
const NATIVE_BINDING = (() => {
  try {
    return require.resolve('better-sqlite3/build/Release/better_sqlite3.node');
  } catch {
    return undefined;
  }
})();

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const BLOCKER = new Int32Array(new SharedArrayBuffer(4));

export function isBusy(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/** How a call waits out a locked database. */
export interface BusyWait {
  /** The pause before try `tries + 1`, in ms. */
  pauseMs(tries: number): number;
  /** What a failure that is not a busy lock becomes. */
  onError(err: unknown): unknown;
  /** What the last busy failure becomes once `timeoutMs` has passed. */
  onTimeout(err: unknown, timeoutMs: number): unknown;
}

/**
 * Runs `fn`, and again after a short pause while another process holds the lock (SQLITE_BUSY), until `timeoutMs` has
 * passed. `block` waits without returning to the event loop: only for opening, which is synchronous.
 */
export function retryWhileBusy<T>(fn: () => T, timeoutMs: number, wait: BusyWait, block: true): T;
export function retryWhileBusy<T>(fn: () => T, timeoutMs: number, wait: BusyWait): Promise<T>;
export function retryWhileBusy<T>(fn: () => T, timeoutMs: number, wait: BusyWait, block = false): T | Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let tries = 0;
  const attempt = (): T | Promise<T> => {
    for (;;) {
      try {
        return fn();
      } catch (err) {
        if (!isBusy(err)) throw wait.onError(err);
        if (Date.now() > deadline) throw wait.onTimeout(err, timeoutMs);
        const pause = wait.pauseMs(tries++);
        if (!block) return sleep(pause).then(attempt);
        Atomics.wait(BLOCKER, 0, 0, pause);
      }
    }
  };
  if (block) return attempt();
  try {
    return Promise.resolve(attempt());
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * The database file (created with owner-only permissions if needed) opened without SQLite's own busy handler: it
 * sleeps ever longer and starves a waiting process, so busy waits are ours (retryWhileBusy).
 */
export function openDatabaseFile(path: string): Database.Database {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    try {
      closeSync(openSync(path, 'wx', 0o600));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    return new Database(path, { timeout: 0, nativeBinding: NATIVE_BINDING });
  } catch (err) {
    if (isDiskFull(err)) throw translateSqliteError(err, path);
    throw new StoreUnavailableError(`cannot open database ${path}: ${(err as Error).message}; pass a writable file path with --db or QUEUECTL_DB`);
  }
}

/** One open database and its prepared statements; every call waits out other processes' locks up to the deadline. */
export class Connection {
  private readonly statements = new Map<string, Database.Statement>();
  private readonly defaultBusyTimeoutMs: number;
  /** How long a call keeps retrying a locked database: the call deadline when one is set. */
  private busyTimeoutMs: number;
  private readonly writeWait: BusyWait;
  private readonly readWait: BusyWait;

  constructor(readonly db: Database.Database, readonly location: string, busyTimeoutMs: number) {
    this.defaultBusyTimeoutMs = busyTimeoutMs;
    this.busyTimeoutMs = busyTimeoutMs;
    const onError = (err: unknown) => translateSqliteError(err, location);
    this.writeWait = {
      // Equal short pauses give every waiting process a fair chance.
      pauseMs: (tries) => Math.random() * Math.min(4, 1 + tries / 4),
      onError,
      onTimeout: (_err, ms) => new StoreUnavailableError(`database ${location} stayed locked for ${ms / 1000}s; another process holds its write lock`),
    };
    this.readWait = {
      pauseMs: () => 1 + Math.random() * 4,
      onError,
      onTimeout: (_err, ms) => new StoreUnavailableError(`database ${location} stayed locked for ${ms / 1000}s`),
    };
  }

  /** Bounds how long later calls wait for another process's lock; null restores the default. */
  setDeadline(ms: number | null): void {
    this.busyTimeoutMs = ms ?? this.defaultBusyTimeoutMs;
  }

  /** Runs `fn` while opening, blocking between tries; errors pass through untranslated for the opener to explain. */
  openingStep<T>(fn: () => T): T {
    const raw = (err: unknown) => err;
    return retryWhileBusy(fn, this.busyTimeoutMs, { pauseMs: () => 2 + Math.random() * 8, onError: raw, onTimeout: raw }, true);
  }

  /** The prepared statement for `sql`, prepared once per connection. */
  stmt(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /**
   * Runs `fn` in a `BEGIN IMMEDIATE` transaction. While another process holds the write lock we retry after a short
   * random pause, yielding to the event loop.
   */
  write<T>(fn: () => T): Promise<T> {
    return retryWhileBusy(() => this.inWriteTransaction(fn), this.busyTimeoutMs, this.writeWait);
  }

  read<T>(fn: () => T): Promise<T> {
    return retryWhileBusy(fn, this.busyTimeoutMs, this.readWait);
  }

  /**
   * `fn` between BEGIN IMMEDIATE and COMMIT, rolled back if it throws. Written out rather than with better-sqlite3's
   * `transaction()`, which builds five new wrapper functions on every call: a worker makes a transaction per job.
   */
  private inWriteTransaction<T>(fn: () => T): T {
    this.stmt('BEGIN IMMEDIATE').run();
    try {
      const result = fn();
      this.stmt('COMMIT').run();
      return result;
    } catch (err) {
      if (this.db.inTransaction) this.stmt('ROLLBACK').run();
      throw err;
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
