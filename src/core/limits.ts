/**
 * The one table of input bounds. Every number, time and string a user gives is checked against these when it is
 * parsed, so nothing the store accepts can later break a read (`Invalid time value`), overflow a column (PostgreSQL's
 * bigint, SQLite's 64-bit integer) or fail every run of its job (`spawn E2BIG`).
 */

const DAY_MS = 86_400_000;

/** Any duration: a delay, a timeout, a retention, `purge --older-than`, a backoff cap. Ten years. */
export const MAX_DURATION_MS = 3650 * DAY_MS;
export const MAX_DURATION_SECONDS = MAX_DURATION_MS / 1000;

/** `run_at` may lie in the past (it then runs now), but not before 1970 nor more than MAX_DURATION_MS ahead. */
export const MIN_RUN_AT_MS = 0;

/** Priorities fit a 32-bit integer: every column and every engine holds them, and nobody needs more. */
export const MIN_PRIORITY = -2_147_483_648;
export const MAX_PRIORITY = 2_147_483_647;

/** A job's own `max_retries` (attempts are counted in a 32-bit column). */
export const MAX_JOB_RETRIES = 1_000_000;

/**
 * Linux refuses to exec a single argument or environment string longer than MAX_ARG_STRLEN (32 pages: 128 KiB
 * including its terminating NUL): the command (`sh -c COMMAND`) and each `NAME=value` must fit.
 */
export const MAX_ARG_BYTES = 128 * 1024 - 1;

/**
 * The command and the job's environment together. ARG_MAX is usually 2 MiB (a quarter of the stack limit) and the
 * worker's own environment needs room too, so a job may use half of it.
 */
export const MAX_JOB_ARGS_BYTES = 1024 * 1024;

/** One line of `enqueue --file`: a job at its largest, JSON-escaped, fits with room to spare. */
export const MAX_FILE_LINE_BYTES = 4 * 1024 * 1024;

/** All of `enqueue --file`: enough for millions of ordinary jobs, well short of what would exhaust memory. */
export const MAX_FILE_BYTES = 512 * 1024 * 1024;

/** `list --limit`. */
export const MAX_LIST_LIMIT = 1_000_000;

/** Bytes of output kept per attempt (`output-limit`). */
export const MAX_OUTPUT_LIMIT_BYTES = 1024 * 1024 * 1024;

/** The latest `run_at` accepted now. */
export function maxRunAtMs(now = Date.now()): number {
  return now + MAX_DURATION_MS;
}
