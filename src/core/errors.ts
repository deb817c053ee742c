/**
 * Typed errors. Commands and the core throw these; `cli/main.ts` alone turns them into one stderr line and an exit
 * code. Anything else that escapes is an internal error.
 */
export class QueueError extends Error {
  /** Process exit code the CLI uses for this error. */
  readonly exitCode: number = 1;
}

/** The user asked for something malformed: bad JSON, a bad option value, an unknown key. Exit 2. */
export class UsageError extends QueueError {
  override readonly exitCode = 2;
}

/** A named job does not exist. */
export class NotFoundError extends QueueError {}

/** The request conflicts with what the store holds (a duplicate id, a job in the wrong state). */
export class ConflictError extends QueueError {}

/** The store cannot be opened or reached. */
export class StoreUnavailableError extends QueueError {}

/**
 * The disk (or quota) holding the store is full: nothing was written. Temporary by nature, so a worker treats it like
 * an outage and retries. Exit 75 (EX_TEMPFAIL).
 */
export class StoreFullError extends QueueError {
  override readonly exitCode = 75;
  constructor(readonly path: string) {
    super(`disk full: cannot write ${path}; free some space and try again`);
  }
}

/**
 * The store's file is damaged (for SQLite: SQLITE_CORRUPT or SQLITE_NOTADB, e.g. after its -wal file was deleted
 * under running workers). Retrying cannot help: a worker that sees it should stop. Exit 74 (EX_IOERR).
 */
export class StoreCorruptError extends QueueError {
  override readonly exitCode = 74;
  constructor(readonly path: string, detail: string) {
    super(`the store ${path} is corrupt (${detail}); stop its workers (queuectl worker stop still works by pid), then restore it from a backup or move it aside`);
  }
}

export function isQueueError(err: unknown): err is QueueError {
  return err instanceof QueueError;
}
