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

export function isQueueError(err: unknown): err is QueueError {
  return err instanceof QueueError;
}
