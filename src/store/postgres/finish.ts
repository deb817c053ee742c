import { toJob, type JobRow } from '../rows';
import type { ClaimedJob, FinishParams } from '../store';

/*
 * The worker's claim and finish run in the plpgsql functions of migration 007 (claim_jobs, finish_job,
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

/** The claimed jobs from claim_jobs's json array, in claim order (null: nothing could start). */
export function claimedJobs(rows: JobRow[] | null): ClaimedJob[] {
  return rows === null ? [] : rows.map((row) => ({ job: toJob(row), attempt: row.runs }));
}
