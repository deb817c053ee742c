import { JOB_STATES, type JobState } from '../core/job';
import { ConflictError, NotFoundError, UsageError } from '../core/errors';

/*
 * What both stores' stats share: the page cursor, the success rule and the nearest-rank percentile. SQL stays in
 * sqlite/stats.ts and postgres/stats.ts.
 */

/** A page cursor: the last job's creation time and insertion sequence, "<created_at>.<seq>". */
export function parseCursor(text: string | undefined): { at: number; seq: number } {
  if (text === undefined) return { at: Number.MAX_SAFE_INTEGER, seq: Number.MAX_SAFE_INTEGER };
  const match = /^(\d{1,16})\.(\d{1,16})$/.exec(text);
  if (!match) throw new UsageError(`invalid page cursor '${text.slice(0, 40)}'; use the 'next' value of the previous page`);
  return { at: Number(match[1]), seq: Number(match[2]) };
}

export const formatCursor = (at: number, seq: number): string => `${at}.${seq}`;

export const statesOrAll = (states: JobState[] | undefined): readonly JobState[] => (states && states.length > 0 ? states : JOB_STATES);

/** SQL for "this attempt succeeded", over the attempts table's columns. */
export const SUCCEEDED_SQL = `CASE WHEN outcome = 'exit' AND exit_code = 0 THEN 1 ELSE 0 END`;

/** The 0-based offset of the nearest-rank percentile `p` (0..1) among `n` sorted values. */
export function percentileOffset(n: number, p: number): number {
  return Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1));
}

/** The DLQ delete's all-or-nothing check: every id names a dead job. */
export function assertAllDead(ids: string[], stateOf: (id: string) => JobState | undefined): void {
  for (const id of ids) {
    const state = stateOf(id);
    if (state === undefined) throw new NotFoundError(`no job with id '${id}'; see 'queuectl dlq list'`);
    if (state !== 'dead') throw new ConflictError(`job '${id}' is ${state}, not dead; only dead jobs are deleted`);
  }
}
