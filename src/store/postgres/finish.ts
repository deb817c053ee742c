import { toJob, type JobRow } from '../rows';
import type { ClaimedJob, FinishParams } from '../store';

/*
 * The worker's claim and finish run in the plpgsql functions of migration 003 (claim_job, finish_job,
 * finish_and_claim); these are their arguments and results.
 */

/** finish_job's arguments: $1..$10 of FINISH_JOB and FINISH_AND_CLAIM. */
export function finishArgs(params: FinishParams): unknown[] {
  const { jobId, workerId, attempt, result, next } = params;
  return [
    next.state, next.countsAttempt ? 0 : 1, next.retryDelayMs, result.error, result.exitCode, jobId, workerId, attempt,
    result.outcome, result.signal,
  ];
}

/** A claimed job from claim_job's json row (null: nothing was due). */
export function claimedJob(row: JobRow | null): ClaimedJob | null {
  return row ? { job: toJob(row), attempt: row.runs } : null;
}
